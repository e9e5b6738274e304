"""What --resume of tools/train.py resumes from, and its errors."""
import sys

import pytest

from objcon.utils import find_resume_checkpoint

CONFIG = 'configs/objcon/soco_r18_fpn_demo.py'


def test_find_resume_checkpoint(tmp_path):
    assert find_resume_checkpoint(str(tmp_path)) is None  # nothing saved yet
    ckpt = tmp_path / 'epoch_1.pth'
    ckpt.write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    assert find_resume_checkpoint(str(tmp_path)) == str(ckpt)
    assert find_resume_checkpoint(str(tmp_path), str(ckpt)) == str(ckpt)
    with pytest.raises(FileNotFoundError, match='no such checkpoint'):
        find_resume_checkpoint(str(tmp_path), str(tmp_path / 'absent.pth'))
    ckpt.unlink()  # e.g. removed by max_keep_ckpts or by hand
    with pytest.raises(FileNotFoundError, match='does not exist'):
        find_resume_checkpoint(str(tmp_path))


@pytest.mark.parametrize('resume, message', [
    (['--resume'], 'nothing to resume in'),
    (['--resume', 'absent.pth'], 'no such checkpoint to resume from: absent.pth'),
])
def test_train_refuses_a_resume_without_checkpoint(resume, message, load_script,
                                                   repo_root, tmp_path,
                                                   monkeypatch, capsys):
    train = load_script('tools/train.py')
    monkeypatch.chdir(repo_root)
    monkeypatch.setattr(sys, 'argv', ['train.py', CONFIG, '--work-dir',
                                      str(tmp_path), *resume])
    assert train.main() == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and message in err
    assert 'Traceback' not in err
    assert not list(tmp_path.iterdir())  # no run was started


def test_train_reports_bad_lengths_and_configs(load_script, repo_root, tmp_path,
                                               monkeypatch, capsys):
    train = load_script('tools/train.py')
    monkeypatch.chdir(repo_root)
    for argv, message in [([CONFIG, '--iters', '5'], 'no max_iters'),
                          (['absent.py'], 'no such config file: absent.py')]:
        monkeypatch.setattr(sys, 'argv', ['train.py', *argv, '--work-dir',
                                          str(tmp_path)])
        assert train.main() == 2
        err = capsys.readouterr().err
        assert err.startswith('error: ') and message in err, err
