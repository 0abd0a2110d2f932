#!/usr/bin/env python3
"""Validate AgentExecutionBudgetResourceOptimizer documents: JSON Schema plus semantic rules.

    python3 tools/validate_agent_execution_budget_resource_optimizers.py            # every AgentExecutionBudgetResourceOptimizer under examples/
    python3 tools/validate_agent_execution_budget_resource_optimizers.py FILE...    # those files

Exit status: 0 valid, 1 invalid, 2 unusable input. Shares its implementation with
`model-router validate` (router/contracts).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router.contracts.bootstrap import run_tool  # noqa: E402  (standard library only)

if __name__ == "__main__":
    run_tool("AgentExecutionBudgetResourceOptimizer", __file__)
