"""Image files are judged by their content, never by their name or last bytes."""
import os.path as osp

import cv2
import numpy as np
import pytest

from objcon.proposals import (ProposalStatus, decode_image, image_format,
                              precompute_proposals, read_image)
from .bad_files import bad_and_tricky_files, jpeg, scene, write_files


def with_exif_thumbnail(main: bytes, thumbnail: bytes) -> bytes:
    """``main`` with an APP1 segment holding a whole JPEG (its own end marker)."""
    body = b'Exif\0\0' + thumbnail
    app1 = b'\xff\xe1' + (len(body) + 2).to_bytes(2, 'big') + body
    return main[:2] + app1 + main[2:]


def test_valid_images_decode_whatever_their_name_and_ending(tmp_path):
    files = bad_and_tricky_files()
    write_files(str(tmp_path), files)
    for name, (content, usable) in files.items():
        img, reason = read_image(str(tmp_path / name))
        assert (img is not None) == usable, (name, reason)
        if usable:
            expected = cv2.imdecode(np.frombuffer(content, np.uint8), cv2.IMREAD_COLOR)
            assert np.array_equal(img, expected), name
            assert reason == ''
    assert image_format(files['png_named.jpg'][0]) == 'PNG'
    reasons = {name: read_image(str(tmp_path / name))[1] for name in files}
    assert reasons['zero_bytes.jpg'] == 'empty file'
    assert reasons['text.jpg'].startswith('not an image')
    assert reasons['truncated.jpg'].startswith('truncated JPEG')


def test_truncation_is_found_behind_an_exif_thumbnail():
    thumb = jpeg(scene(7, (32, 32)))
    whole = with_exif_thumbnail(jpeg(scene(8)), thumb)
    assert decode_image(whole)[0] is not None
    # The thumbnail's end marker must not pass for the image's.
    cut = whole[:len(whole) - 300]
    assert thumb[-2:] == b'\xff\xd9' and b'\xff\xd9' in cut
    img, reason = decode_image(cut)
    assert img is None and reason.startswith('truncated JPEG'), reason


def test_precompute_keeps_valid_images_and_skips_unusable_ones(tmp_path, mm_log):
    files = bad_and_tricky_files()
    root = str(tmp_path / 'imgs')
    write_files(root, files)
    cache = precompute_proposals(dict(type='GridBoxes', rows=2, cols=2), root,
                                 str(tmp_path / 'cache'), show_progress=False)
    for name, (_, usable) in files.items():
        status = cache.get_status(name)
        if usable:
            assert status == ProposalStatus.OK, name
            h, w = cache.get_size(name)
            assert cache[name].tolist()[-1] == [w // 2, h // 2, w, h], name
        else:
            assert status == ProposalStatus.SKIPPED, name
            assert any(m.startswith(f'{name}: ') and 'skipped' in m
                       for m in mm_log), name


@pytest.mark.parametrize('name', ['png_named.jpg', 'trailing_bytes.jpg', 'text.jpg'])
def test_load_image_or_skip_decides_like_the_precompute(tmp_path, mm_log, name):
    from objcon.datasets.transforms import LoadImageOrSkip
    content, usable = bad_and_tricky_files()[name]
    write_files(str(tmp_path), {name: content})
    path = osp.join(str(tmp_path), name)
    results = LoadImageOrSkip()(dict(img_path=path))
    if usable:
        assert np.array_equal(results['img'], read_image(path)[0])
        assert results['img_shape'] == results['ori_shape'] == (64, 80)
    else:
        assert results is None
        assert any(m.startswith(f'{path}: not an image') and 'skipped' in m
                   for m in mm_log)
