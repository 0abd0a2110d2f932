"""RouteDecisionReceipts: a hash-chained JSON-lines log with a signed head.

- `build`: the receipt for a decision (request summary, evaluation time, lane decision) and its digest.
- `log`: the append-only log (locking with a deadline, rotation and deletion detection, file-system
  hardening, torn-tail repair, keyed prompt digests).
- `checkpoint`: the Ed25519 receipt-signing key and the signed head written beside the log.
- `inputs`: the content-addressed store of prompt-stripped input bundles beside the log (replay).
- `verify`: checks a log in bounded memory — canonical lines, the chain, the signed head, an exported
  head (`expect_head`) and a minimum count.
"""

from router.receipts.build import (
    LOG_NAME,
    RECEIPT_ID_PREFIX,
    build_receipt,
    canonical,
    receipt_digest,
    request_summary,
)
from router.receipts.checkpoint import (
    CheckpointError,
    generate_key,
    head_path,
    load_private_key,
    load_public_key,
    read_head,
)
from router.receipts.inputs import InputStore, InputStoreError, store_folder
from router.receipts.log import ReceiptLog, ReceiptLogError, default_key_path
from router.receipts.verify import (
    MAX_LINE,
    UnreadableLog,
    VerifyReport,
    strict_loads,
    verify,
)

__all__ = [
    "LOG_NAME",
    "MAX_LINE",
    "RECEIPT_ID_PREFIX",
    "CheckpointError",
    "InputStore",
    "InputStoreError",
    "ReceiptLog",
    "ReceiptLogError",
    "UnreadableLog",
    "VerifyReport",
    "build_receipt",
    "canonical",
    "default_key_path",
    "generate_key",
    "head_path",
    "load_private_key",
    "load_public_key",
    "read_head",
    "receipt_digest",
    "request_summary",
    "store_folder",
    "strict_loads",
    "verify",
]
