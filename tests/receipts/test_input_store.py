"""The input store's pack (router.receipts.inputs): a commit group's inputs are appended with one write
and one fsync before its receipts; records verify against their digest; torn tails, junk lines and
edited records never yield a wrong input; stores written one file per input are still read."""

from __future__ import annotations

import errno
import json
import os

import pytest
from test_group_commit import FsyncProbe, run_at_once
from test_receipt_log import body

from router.contracts.digest import canonical, sha256_text
from router.receipts import InputStore, InputStoreError, ReceiptLog, ReceiptLogError
from router.receipts import inputs as inputs_mod
from router.receipts.inputs import PACK_NAME


def item(n: int) -> tuple[str, str]:
    text = canonical({"request": {"requestId": f"req-{n}", "prompt": {"chars": n}}, "schemaVersion": "v0.1", "ü": "ß"})
    return sha256_text(text), text


class PathFsyncs(FsyncProbe):
    """FsyncProbe that also counts the calls per file name."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, **kw) -> None:
        super().__init__(monkeypatch, **kw)
        self.by_name: dict[str, int] = {}

    def __call__(self, fd: int) -> None:
        name = os.path.basename(os.readlink(f"/proc/self/fd/{fd}"))
        with self._mutex:
            self.by_name[name] = self.by_name.get(name, 0) + 1
        super().__call__(fd)


def test_a_commit_group_stores_its_inputs_with_one_write_and_one_fsync(tmp_path, monkeypatch):
    log = ReceiptLog(tmp_path / "r.jsonl", fsync=True)
    store = InputStore.beside(log.path, fsync=True)
    log.append_many([body(0)], [item(0)], store)  # the key, the folder and the pack exist before counting
    probe = PathFsyncs(monkeypatch, delay_s=0.01)  # a slow disk: appends pile up while one commit runs
    writes: list[int] = []
    real_write = os.write

    def counting_write(fd: int, data) -> int:
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")) == PACK_NAME:
            writes.append(len(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counting_write)
    threads_n, per_thread = 8, 6

    def work(k: int) -> None:
        for i in range(per_thread):
            n = 100 * (k + 1) + i
            log.append_many([body(n)], [item(n)], store)

    assert run_at_once(work, threads_n) == []
    appends = threads_n * per_thread
    # one pack fsync and one pack write per commit group, exactly as many as the log's own fsyncs
    assert probe.by_name[PACK_NAME] == probe.by_name["r.jsonl"] == len(writes)
    assert probe.by_name[PACK_NAME] < appends / 2
    reader = InputStore.beside(log.path)
    for k in range(threads_n):
        for i in range(per_thread):
            digest, text = item(100 * (k + 1) + i)
            assert canonical(reader.get(digest)) == text
    lines = (store.folder / PACK_NAME).read_bytes().splitlines()
    assert len(lines) == appends + 1  # each input once
    assert all(line == canonical(json.loads(line)).encode() for line in lines)  # each record is canonical JSON


def test_an_input_already_stored_by_this_store_is_not_appended_again(tmp_path):
    store = InputStore(tmp_path / "inputs", fsync=False)
    assert store.put_many([item(1), item(2), item(1)]) == 2
    assert store.put_many([item(2)]) == 0
    assert len((store.folder / PACK_NAME).read_bytes().splitlines()) == 2
    with pytest.raises(InputStoreError, match="does not have the digest"):
        store.put_many([(item(3)[0], item(4)[1])])


@pytest.mark.parametrize("chunk", [None, 7, 64])
def test_a_torn_tail_and_junk_lines_are_skipped(tmp_path, monkeypatch, chunk):
    if chunk:  # read the pack in small pieces: records and an over-long junk line span many reads
        monkeypatch.setattr(inputs_mod, "CHUNK", chunk)
        monkeypatch.setattr(inputs_mod, "MAX_INPUT_BYTES", 400)
    store = InputStore(tmp_path / "inputs", fsync=False)
    store.put_many([item(1)])
    pack = store.folder / PACK_NAME
    with open(pack, "ab") as f:
        f.write(b'{"input":{"request":{"requestId":"req-9"')  # a crash in the middle of an append
    store.put_many([item(2)])
    with open(pack, "ab") as f:
        f.write(b"not a record\n" + b"x" * 4000 + b"\n")
    store.put_many([item(3)])
    reader = InputStore(store.folder)
    for n in (1, 2, 3):
        assert canonical(reader.get(item(n)[0])) == item(n)[1]
    with pytest.raises(InputStoreError, match="no stored input"):
        reader.get(item(9)[0])
    assert pack.read_bytes().count(b"\n") == 6  # the torn line was ended, not cut


def test_a_record_appended_after_the_index_was_read_is_found(tmp_path):
    writer = InputStore(tmp_path / "inputs", fsync=False)
    writer.put_many([item(1)])
    reader = InputStore(tmp_path / "inputs")
    assert reader.get(item(1)[0])
    writer.put_many([item(2)])
    assert canonical(reader.get(item(2)[0])) == item(2)[1]


def test_an_edited_record_is_refused_and_a_good_copy_is_used(tmp_path):
    store = InputStore(tmp_path / "inputs", fsync=False)
    store.put_many([item(1)])
    pack = store.folder / PACK_NAME
    pack.write_bytes(pack.read_bytes().replace(b'"req-1"', b'"req-7"'))
    with pytest.raises(InputStoreError, match="does not match its digest"):
        InputStore(store.folder).get(item(1)[0])
    InputStore(store.folder, fsync=False).put_many([item(1)])  # another process stores the same input
    assert canonical(InputStore(store.folder).get(item(1)[0])) == item(1)[1]


def test_a_store_written_one_file_per_input_is_still_read(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    digest, text = item(5)
    (folder / f"{digest[7:]}.json").write_text(text, encoding="utf-8")
    assert canonical(InputStore(folder).get(digest)) == text
    (folder / f"{digest[7:]}.json").write_text(text.replace("req-5", "req-6"), encoding="utf-8")
    with pytest.raises(InputStoreError, match="does not match its digest"):
        InputStore(folder).get(digest)


def test_a_pack_that_is_a_symbolic_link_is_refused(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_bytes(b"")
    (folder / PACK_NAME).symlink_to(elsewhere)
    with pytest.raises(InputStoreError, match="symbolic link"):
        InputStore(folder, fsync=False).put_many([item(1)])
    assert elsewhere.read_bytes() == b""


def test_inputs_that_cannot_be_stored_fail_the_group_before_any_receipt(tmp_path):
    log = ReceiptLog(tmp_path / "r.jsonl", fsync=False)
    store = InputStore.beside(log.path, fsync=False)
    (store.folder / PACK_NAME).mkdir(parents=True)  # the pack cannot be opened as a file
    with pytest.raises(ReceiptLogError) as info:
        log.append_many([body(1)], [item(1)], store)
    assert info.value.errno == errno.EISDIR or "pack.jsonl" in str(info.value)
    assert not log.path.exists() or log.path.read_bytes() == b""
    log.append_many([body(2)])  # the log itself is unharmed
    assert len(log.path.read_bytes().splitlines()) == 1


def test_inputs_without_a_store_are_refused(tmp_path):
    log = ReceiptLog(tmp_path / "r.jsonl", fsync=False)
    with pytest.raises(ValueError, match="no input store"):
        log.append_many([body(1)], [item(1)])


def test_a_pack_moved_away_is_not_written_through_its_old_name(tmp_path):
    store = InputStore(tmp_path / "inputs", fsync=False)
    store.put_many([item(1)])
    moved = tmp_path / "moved.jsonl"
    (store.folder / PACK_NAME).rename(moved)
    store.put_many([item(2)])  # the store had the old file open: it opens the file now at the path
    assert b"req-2" not in moved.read_bytes()
    assert canonical(InputStore(store.folder).get(item(2)[0])) == item(2)[1]
    store.close()


def test_a_pack_replaced_after_it_was_read_is_read_anew(tmp_path):
    folder = tmp_path / "inputs"
    first = InputStore(folder, fsync=False)
    first.put_many([item(1), item(2)])
    reader = InputStore(folder)
    assert reader.get(item(2)[0])  # indexed: item 2 at its offset in this pack
    pack = folder / PACK_NAME
    pack.rename(tmp_path / "old.jsonl")
    InputStore(folder, fsync=False).put_many([item(3), item(2)])  # another pack: item 2 elsewhere
    assert canonical(reader.get(item(2)[0])) == item(2)[1]
    pack.unlink()
    with pytest.raises(InputStoreError, match="no stored input"):
        reader.get(item(3)[0])
