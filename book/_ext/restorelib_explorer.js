/* The static toolchain explorer of the book (book/explorer.md): no kernel, no network.
 *
 * Reads window.restorelibExplorer (index.js, written at build time by restorelib/static_explorer.py) and draws, in
 * every <div class="rx-explorer" data-base="..._static/explorer/">, a photo and distortion picker, the clean crop and
 * the crop after the chosen chain, one row of tool buttons per step, a comparison with the agent's chain and the best
 * chain of length <= 2, and the grid of every chain's PSNR (a click on a cell picks that chain).
 * Every number shown comes from the index; nothing is computed here but differences.
 */
(function () {
  "use strict";
  var ARROW = " \u2192 ";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }
  function db(x) { return x.toFixed(2) + " dB"; }
  function signed(x) { return (x >= 0 ? "+" : "\u2212") + Math.abs(x).toFixed(2) + " dB"; }
  function label(chain) { return chain.length ? chain.join(ARROW) : "no tool (the input)"; }
  function key(chain) { return chain.join(","); }

  function modelsNote(index) {
    var m = index.models || {}, p = el("p", {"class": "rx-note"});
    function text(t) { p.appendChild(document.createTextNode(t)); }
    function code(t) { p.appendChild(el("code", {text: t})); }
    text("Computed when this page was built, in " + index.cpu_seconds + " s of CPU, from ");
    if (m.tools) {
      text("the shipped tools (");
      code(m.tools.folder);
      text(", trained by ");
      code(m.tools.command);
      text(", " + m.tools.scale + " scale, " + m.tools.date + ")" + (m.agent ? " and " : ""));
    }
    if (m.agent) {
      text("the shipped agent " + m.agent.name + " (trained by ");
      code(m.agent.command);
      text(", " + m.agent.steps + " steps, at most " + m.agent.t_max + " tools a chain, " + m.agent.date + ")");
    }
    if (!m.tools && !m.agent) { text("the models given"); }
    text(": the same checkpoints at every scale of the book. The crops are " + index.crop + " \u00d7 " + index.crop +
         " pixels, shown enlarged pixel for pixel, as JPEG files of quality " + index.quality +
         " (each file has a PSNR of at least " + index.encoding_psnr_min.toFixed(1) + " dB against the image " +
         "computed; the figures on this page are those of the computed images).");
    return p;
  }

  function Explorer(root, index) {
    var base = root.getAttribute("data-base") || "";
    var state = {c: 0, chain: []};
    var zoom = Math.max(1, Math.floor(256 / index.crop));
    var ui = {};

    function current() { return index.cases[state.c]; }
    function entry(chain) { return current().entries[key(chain)]; }
    function pick(buttons, attr, value) {
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", String(b.getAttribute(attr) === value)); });
    }

    function picker(name, values, attr, onPick) {
      var buttons = values.map(function (v) {
        var b = el("button", {type: "button", text: v.replace(/_/g, " ")});
        b.setAttribute(attr, v);
        b.addEventListener("click", function () { onPick(v); });
        return b;
      });
      return {row: el("div", {"class": "rx-row"}, [el("span", {"class": "rx-label", text: name})].concat(buttons)),
              buttons: buttons};
    }
    function findCase(photo, group) {
      for (var i = 0; i < index.cases.length; i++) {
        if (index.cases[i].photo === photo && index.cases[i].group === group) { return i; }
      }
      return state.c;
    }

    var photos = picker("Photo", index.photos, "data-photo", function (p) {
      state.c = findCase(p, current().group); draw();
    });
    var groups = picker("Distortion", index.groups, "data-group", function (g) {
      state.c = findCase(current().photo, g); draw();
    });
    ui.levels = el("p", {"class": "rx-levels"});

    function figure(cls, alt) {
      var side = String(index.crop * zoom);
      var img = el("img", {"class": cls, alt: alt, width: side, height: side});
      var cap = el("figcaption");
      return {fig: el("figure", {"class": "rx-figure"}, [img, cap]), img: img, cap: cap};
    }
    ui.clean = figure("rx-clean", "the clean crop");
    ui.now = figure("rx-current", "the crop after the chosen chain");
    ui.psnr = el("span", {"class": "rx-psnr"});
    ui.now.cap.appendChild(ui.psnr);
    ui.chainText = el("span", {"class": "rx-chain"});
    ui.now.cap.insertBefore(ui.chainText, ui.psnr);

    function stepRow(step) {
      var names = ["stop"].concat(index.tools);
      var buttons = names.map(function (t) {
        var b = el("button", {type: "button", text: t, "data-step": String(step), "data-tool": t});
        b.addEventListener("click", function () {
          var chain = state.chain.slice(0, index.max_length);
          if (t === "stop") { chain = chain.slice(0, step - 1); } else { chain[step - 1] = t; }
          state.chain = chain; draw();
        });
        return b;
      });
      var word = step === 1 ? "1st tool" : step === 2 ? "2nd tool" : step + "th tool";
      var head = el("span", {"class": "rx-label", text: word});
      return {row: el("div", {"class": "rx-row rx-tools"}, [head].concat(buttons)), buttons: buttons};
    }
    ui.steps = [];
    for (var s = 1; s <= index.max_length; s++) { ui.steps.push(stepRow(s)); }
    ui.readout = el("p", {"class": "rx-readout"});

    ui.table = el("table", {"class": "rx-compare"});
    ui.grid = el("table", {"class": "rx-grid"});
    ui.note = modelsNote(index);

    root.textContent = "";
    [photos.row, groups.row, ui.levels,
     el("div", {"class": "rx-figures"}, [ui.clean.fig, ui.now.fig])].concat(
      ui.steps.map(function (r) { return r.row; }),
      [ui.readout, el("div", {"class": "rx-scroll"}, [ui.table]),
       el("p", {"class": "rx-gridtitle", text: "Every chain of at most " + index.max_length + " tools: the PSNR " +
               "after it (row: 1st tool, column: 2nd tool; green gains on the input, red loses; solid outline: the " +
               "best chain, dashed: the agent's, or its first " + index.max_length + " tools; click a cell to show it)."
       }),
       el("div", {"class": "rx-scroll"}, [ui.grid]), ui.note]).forEach(function (n) { root.appendChild(n); });

    function levelsText(lv) {
      var parts = [];
      if ("blur" in lv) { parts.push("blur \u03c3 = " + lv.blur.toFixed(2) + " px"); }
      if ("noise" in lv) { parts.push("noise \u03c3 = " + lv.noise.toFixed(1) + " (of 255)"); }
      if ("jpeg" in lv) { parts.push("JPEG quality " + Math.round(lv.jpeg)); }
      return "This crop: " + current().group + " distortion drawn as " + parts.join(", ") + ".";
    }

    function compareRow(who, chain, show) {
      var e = entry(chain), gain = e.psnr - entry([]).psnr;
      var cells = [el("th", {text: who}), el("td", {text: label(chain)}),
                   el("td", {"class": "rx-num", text: db(e.psnr)}), el("td", {"class": "rx-num", text: signed(gain)})];
      var td = el("td");
      if (show) {
        var b = el("button", {type: "button", text: "show", "data-show": show});
        b.addEventListener("click", function () { state.chain = chain.slice(); draw(); });
        td.appendChild(b);
      }
      cells.push(td);
      return el("tr", {}, cells);
    }

    function drawTable() {
      var c = current();
      ui.table.textContent = "";
      ui.table.appendChild(el("tr", {}, ["", "chain", "PSNR", "gain", ""].map(function (h) {
        return el("th", {text: h});
      })));
      ui.table.appendChild(compareRow("your chain", state.chain, null));
      if (c.agent && index.models && index.models.agent) {
        ui.table.appendChild(compareRow("the agent (" + index.models.agent.name + ")", c.agent, "agent"));
      }
      ui.table.appendChild(compareRow("best of length \u2264 " + index.max_length + " (an oracle)", c.best, "best"));
    }

    function drawGrid() {
      var c = current(), input = entry([]).psnr, names = ["stop"].concat(index.tools), top = 0.01;
      Object.keys(c.entries).forEach(function (k) { top = Math.max(top, Math.abs(c.entries[k].psnr - input)); });
      ui.grid.textContent = "";
      ui.grid.appendChild(el("tr", {}, [el("th", {text: "1st \\ 2nd"})].concat(names.map(function (n) {
        return el("th", {text: n});
      }))));
      names.forEach(function (first) {
        var row = [el("th", {text: first})];
        names.forEach(function (second) {
          var chain = first === "stop" ? [] : second === "stop" ? [first] : [first, second];
          if (first === "stop" && second !== "stop") { row.push(el("td", {"class": "rx-empty"})); return; }
          var e = c.entries[key(chain)], gain = e.psnr - input, a = Math.min(1, Math.abs(gain) / top);
          var td = el("td", {"class": "rx-cell", "data-chain": key(chain), text: e.psnr.toFixed(1),
                             title: label(chain) + ": " + db(e.psnr) + " (" + signed(gain) + ")"});
          td.style.background = gain >= 0 ? "rgba(46, 160, 67, " + (0.1 + 0.6 * a) + ")" :
            "rgba(215, 58, 73, " + (0.1 + 0.6 * a) + ")";
          if (key(chain) === key(c.best)) { td.className += " rx-best"; }
          if (c.agent && key(chain) === key(c.agent.slice(0, index.max_length))) { td.className += " rx-agent"; }
          td.addEventListener("click", function () { state.chain = chain; draw(); });
          row.push(td);
        });
        ui.grid.appendChild(el("tr", {}, row));
      });
    }

    function draw() {
      var c = current(), e = entry(state.chain), steps = [];
      pick(photos.buttons, "data-photo", c.photo);
      pick(groups.buttons, "data-group", c.group);
      ui.levels.textContent = levelsText(c.levels);
      ui.clean.img.src = base + c.clean;
      ui.clean.cap.textContent = "clean (the reference)";
      ui.now.img.src = base + e.src;
      ui.chainText.textContent = label(state.chain) + ": ";
      ui.psnr.textContent = db(e.psnr);
      ui.steps.forEach(function (r, i) {
        var chosen = state.chain.length > i ? state.chain[i] : "stop";
        r.buttons.forEach(function (b) {
          b.disabled = i > state.chain.length;
          b.setAttribute("aria-pressed", String(!b.disabled && b.getAttribute("data-tool") === chosen));
        });
      });
      for (var t = 0; t <= state.chain.length; t++) {
        var p = entry(state.chain.slice(0, t)).psnr;
        steps.push((t ? state.chain[t - 1] + " " : "input ") + db(p) +
                   (t ? " (" + signed(p - entry(state.chain.slice(0, t - 1)).psnr) + ")" : ""));
      }
      ui.readout.textContent = steps.join(ARROW);
      drawTable();
      drawGrid();
      Array.prototype.forEach.call(ui.grid.querySelectorAll(".rx-cell"), function (td) {
        td.classList.toggle("rx-on", td.getAttribute("data-chain") === key(state.chain));
      });
      root.setAttribute("data-chain", key(state.chain));
      root.setAttribute("data-ready", "1");
    }
    draw();
  }

  function start() {
    var index = window.restorelibExplorer;
    Array.prototype.forEach.call(document.querySelectorAll(".rx-explorer"), function (root) {
      if (!index || !index.cases || !index.cases.length) {
        root.textContent = "The explorer's data is missing from this build (_static/explorer/index.js): " +
          "build the book with `jupyter-book build .`.";
        root.setAttribute("data-ready", "0");
        return;
      }
      Explorer(root, index);
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
