"""Debate, collaborative solving and consensus: several AIs working together, on top of callers/."""

from collab.consensus import ConsensusResult, Vote, run_consensus
from collab.council import CouncilResult, run_council
from collab.debate import DebateResult, DebateRound, run_debate
from collab.modes import MODES, Mode, ModeName
from collab.solve import Approach, SolveResult, run_solve

__all__ = [
    "MODES",
    "Approach",
    "ConsensusResult",
    "CouncilResult",
    "DebateResult",
    "DebateRound",
    "Mode",
    "ModeName",
    "SolveResult",
    "Vote",
    "run_consensus",
    "run_council",
    "run_debate",
    "run_solve",
]
