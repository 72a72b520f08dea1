"""Files written by a transaction that rolls back are removed again (core/files.py)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from prevenance.core.files import files_discarded_on_failure, store_file


class OrderLost(Exception):
    pass


def test_a_file_that_cannot_be_removed_neither_keeps_the_others_nor_hides_the_failure(settings, tmp_path, monkeypatch, caplog):
    settings.MEDIA_ROOT = str(tmp_path)
    removed = []
    real_delete = default_storage.delete

    def delete(name):
        if name.startswith("first"):
            raise OSError("storage unavailable")
        removed.append(name)
        real_delete(name)

    monkeypatch.setattr(default_storage, "delete", delete)
    with pytest.raises(OrderLost), files_discarded_on_failure():
        first = store_file("first.txt", ContentFile(b"one"))
        second = store_file("second.txt", ContentFile(b"two"))
        raise OrderLost  # the transaction's own failure, the one the caller must see

    assert removed == [second]
    assert not default_storage.exists(second)
    assert default_storage.exists(first)  # kept, and said in the log
    assert f"Could not remove {first}" in caplog.text
