"""Write policies/capabilities.json: the pinned OPA's capabilities minus every built-in that reaches
outside the input (network, environment, clock, randomness, runtime).

Run after changing tools/opa.version:  python3 tools/make_capabilities.py
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from router import paths  # noqa: E402
from router.opa_binary import find_opa  # noqa: E402

# Built-ins a routing policy must never call: each reaches the network, the host, the clock or randomness.
DENIED_BUILTINS = {
    "http.send": "network",
    "net.lookup_ip_addr": "network (DNS)",
    "providers.aws.sign_req": "cloud credentials, clock",
    "opa.runtime": "environment and configuration",
    "time.now_ns": "clock (non-deterministic)",
    "rand.intn": "randomness",
    "uuid.rfc4122": "randomness",
    "io.jwt.decode_verify": "clock (token expiry)",
    "io.jwt.encode_sign": "randomness (signatures)",
    "io.jwt.encode_sign_raw": "randomness (signatures)",
    "crypto.x509.parse_and_verify_certificates": "clock (certificate validity)",
    "crypto.x509.parse_and_verify_certificates_with_options": "clock (certificate validity)",
}


def main() -> int:
    current = json.loads(subprocess.run([str(find_opa()), "capabilities", "--current"],
                                        capture_output=True, text=True, check=True).stdout)
    names = {b["name"] for b in current["builtins"]}
    missing = sorted(set(DENIED_BUILTINS) - names)
    if missing:
        print(f"warning: not built into this OPA, nothing to remove: {', '.join(missing)}", file=sys.stderr)
    current["builtins"] = [b for b in current["builtins"] if b["name"] not in DENIED_BUILTINS]
    current.pop("allow_net", None)
    current["allow_net"] = []
    paths.CAPABILITIES.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {paths.CAPABILITIES.relative_to(paths.ROOT)}: {len(current['builtins'])} built-ins, "
          f"{len(DENIED_BUILTINS)} denied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
