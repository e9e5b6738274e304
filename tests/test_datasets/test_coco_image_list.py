"""Pretraining from a COCO-style json takes its image list and never reads its
annotations."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from objcon.datasets import read_coco_image_list
from objcon.errors import InputError
from objcon.utils import register_all_modules
from tests.test_proposals.bad_files import write_good_images

IMAGES = [dict(id=i + 1, file_name=f'{i:03d}.jpg', height=64, width=80)
          for i in range(3)]
# Not json: decoding it fails. Only its brackets and strings are balanced, so a
# reader that skips values without decoding them passes over it.
POISON = '[{"bbox": @@ not json @@, "segmentation": [[1, 2,,]], "x": "]}\\""}]'


def coco_text(order=('info', 'images', 'annotations', 'categories'),
              annotations=POISON, images=IMAGES):
    parts = dict(info='{"description": "t", "year": 2017}',
                 images=json.dumps(images), annotations=annotations,
                 categories='[{"id": 1, "name": "thing"}]')
    return '{' + ', '.join(f'"{k}": {parts[k]}' for k in order) + '}'


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


@pytest.mark.parametrize('chunk_size', [7, 1 << 20])
def test_images_first_reading_stops_before_the_annotations(tmp_path, chunk_size):
    # poisoned and then cut off mid-annotation: a reader that decoded (or read
    # to the end of) the annotations would fail
    text = coco_text()
    path = write(tmp_path / 'a.json', text[:text.index('@@') + 5])
    names = read_coco_image_list(path, chunk_size=chunk_size)
    assert names == ['000.jpg', '001.jpg', '002.jpg']


@pytest.mark.parametrize('chunk_size', [1, 5, 64, 1 << 20])
def test_values_before_the_images_are_skipped_undecoded(tmp_path, chunk_size):
    order = ('annotations', 'info', 'categories', 'images')
    path = write(tmp_path / 'a.json', coco_text(order))
    with pytest.raises(json.JSONDecodeError):
        json.loads(coco_text(order))  # the poison is not json
    names = read_coco_image_list(path, chunk_size=chunk_size)
    assert names == ['000.jpg', '001.jpg', '002.jpg']
    # scalars and strings with escapes before the images are skipped too
    path = write(tmp_path / 'b.json', '{"n": -1.5e3, "t": true, "s": "a\\"}[", '
                 '"images": [{"file_name": "x.jpg"}]}')
    assert read_coco_image_list(path, chunk_size=chunk_size) == ['x.jpg']


@pytest.mark.parametrize('text, message', [
    (None, 'cannot read the image list'),
    ('', 'is not a COCO-style json'),
    ('[1, 2]', 'is not a COCO-style json'),
    ('{"annotations": []}', 'has no "images" list'),
    ('{"images": {}}', 'has no "images" list'),
    ('{"images": []}', 'lists no images'),
    ('{"images": [{"file_name": "a.jpg"}, {"id": 2}]}',
     'entry 1 of "images" has no file_name'),
    ('{"images": [{"file_name": "a.jpg"}', 'is not a COCO-style json'),
    ('{"annotations": [[1, 2], "images": []}', 'is not a COCO-style json'),
])
def test_a_json_without_a_usable_image_list_is_refused(tmp_path, text, message):
    path = str(tmp_path / 'list.json')
    if text is not None:
        write(path, text)
    with pytest.raises(InputError, match=message):
        read_coco_image_list(path, chunk_size=4)


def build(img_root, ann_file):
    from objcon.registry import DATASETS
    return DATASETS.build(dict(type='UnlabeledImageDataset', data_prefix=img_root,
                               ann_file=ann_file,
                               pipeline=[dict(type='LoadImageOrSkip')]))


def test_the_dataset_lists_the_json_images_in_its_order(tmp_path):
    register_all_modules()
    root = str(tmp_path / 'imgs')
    write_good_images(root, 4)  # 003.jpg is not in the list: not used
    images = [IMAGES[2], IMAGES[0], IMAGES[1]]
    dataset = build(root, write(tmp_path / 'a.json', coco_text(images=images)))
    assert [osp.basename(dataset.get_data_info(i)['img_path'])
            for i in range(len(dataset))] == ['002.jpg', '000.jpg', '001.jpg']
    assert dataset[0]['img'].shape == (64, 80, 3)
    os.remove(osp.join(root, '001.jpg'))
    with pytest.raises(InputError, match=r"1 of the 3 images listed in .* are not "
                       r"in .*imgs' \(e\.g\. 001\.jpg\)"):
        build(root, write(tmp_path / 'a.json', coco_text(images=images)))


@pytest.mark.slow
def test_train_says_error_and_exits_2_for_a_json_without_images(
        tiny_demo_root, repo_root, tmp_path):
    # (a missing json takes the same path: InputError, see the reader's tests)
    path = write(tmp_path / 'list.json', '{"images": [], "annotations": []}')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', 'configs/objcon/ccop_r18_fpn_demo.py',
         '--work-dir', str(tmp_path / 'work'), '--cfg-options',
         f'train_dataloader.dataset.ann_file={path}',
         'train_dataloader.num_workers=0',
         'train_dataloader.persistent_workers=False'],
        cwd=repo_root, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, OBJCON_DEMO_ROOT=tiny_demo_root))
    assert proc.returncode == 2, (proc.stdout + proc.stderr)[-3000:]
    assert f'error: {path!r} lists no images ("images" is empty)' in proc.stderr
    assert 'Traceback' not in proc.stderr
