"""Chapter 4, RL-Restore: the CNN + LSTM deep-Q agent, its environment, replay of whole episodes, the DQN loop
and restoration with a trained agent.
"""
from .nets import PAPER_ABLATIONS, RLRestoreNet, epsilon, td_targets
from .env import REWARDS, NR_REWARDS, Observation, RestoreEnv
from .replay import FIELDS, EpisodeMemory
from .dqn import (
    SIX_TOOLS, DQNConfig, dqn_loss, act, TrainRecord, train_dqn, SCALES, ABLATION_SCHEDULE, ABLATIONS,
    ablation_name, save_agent, agent_config, get_agent, write_card, AGENTS, shipped_agents, load_agent)
from .restore import ImageResult, restore_by_votes, check_stop_share, AgentRestorer, ChainRestorer, ChainAgentMethod, AgentMethod, tool_usage
from .stopping import AT_BEST_DB, cautious_end, choose_stop_share, stopping_study
from . import nets, env, replay, cards, dqn, restore, stopping  # the modules themselves, e.g. rlrestore.nets
