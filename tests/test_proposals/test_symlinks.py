"""Folder walks follow a symbolic link at most once per real folder."""
import os
import os.path as osp
import threading

from objcon.proposals import list_images, precompute_proposals
from .bad_files import write_good_images


def make_loops(root):
    """root/{000,001}.jpg, root/sub/000.jpg and every kind of link loop."""
    write_good_images(root, 2)
    write_good_images(osp.join(root, 'sub'), 1, seed=10)
    os.symlink('self.jpg', osp.join(root, 'self.jpg'))  # a file linking to itself
    os.symlink('.', osp.join(root, 'up'))  # the folder itself
    os.symlink('..', osp.join(root, 'sub', 'back'))  # a second loop
    os.symlink('sub', osp.join(root, 'zz_alias'))  # a second path to sub
    os.symlink('000.jpg', osp.join(root, 'zz_same.jpg'))  # a second path to a file
    os.symlink('missing.jpg', osp.join(root, 'dangling.jpg'))


def test_each_real_file_is_listed_once_and_loops_are_named(tmp_path, mm_log):
    root = str(tmp_path / 'imgs')
    make_loops(root)
    found = {}

    def walk():
        try:
            found['entries'] = list_images(root)
        except Exception as e:  # noqa: BLE001 -- reported below
            found['error'] = e

    # A walk that follows the loops never ends: bound it instead of hanging.
    walker = threading.Thread(target=walk, daemon=True)
    walker.start()
    walker.join(30)
    assert not walker.is_alive(), 'the walk does not end: link loops followed'
    assert 'error' not in found, found.get('error')
    entries = found['entries']
    assert [key for key, _ in entries] == ['000.jpg', '001.jpg', 'sub/000.jpg']
    warnings = '\n'.join(mm_log)
    for link in ('self.jpg', 'dangling.jpg'):
        assert f"{osp.join(root, link)!r}: " in warnings, link
    assert f"{osp.join(root, 'up')!r} leads to the folder already listed as '.'" \
        in warnings
    assert f"{osp.join(root, 'sub', 'back')!r} leads to the folder already listed" \
        in warnings
    assert f"{osp.join(root, 'zz_alias')!r} leads to the folder already listed as " \
        "'sub'" in warnings
    assert f"{osp.join(root, 'zz_same.jpg')!r} is the file already listed as " \
        "'000.jpg'" in warnings


def test_precompute_over_link_loops_writes_the_real_images(tmp_path):
    root = str(tmp_path / 'imgs')
    make_loops(root)
    cache = precompute_proposals(dict(type='WholeImage'), root,
                                 str(tmp_path / 'cache'), show_progress=False)
    assert cache.keys == ['000.jpg', '001.jpg', 'sub/000.jpg']
    assert cache.meta['status_counts']['OK'] == 3
