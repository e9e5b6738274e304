"""objcon-bench's report of one track: per-method summary over seeds, a markdown
table, a CSV of every (method, seed) and a PNG plot. Rows are compared with the
references of their own track (its scratch; BYOL in the Mask R-CNN track)."""
import math
import os
import os.path as osp
import statistics
from typing import Dict, List, Optional, Sequence, Tuple

from .bench import PROTOCOLS, TRACKS, Preset, Track, labeled_count, protocol_records

TABLE_METRICS = (('APbb', 'coco/bbox_mAP'), ('APbb50', 'coco/bbox_mAP_50'),
                 ('APmk', 'coco/segm_mAP'))
TABLE_TIMES = (('pretrain min', 'pretrain_s'), ('fine-tune min', 'finetune_s'),
               ('proposal precompute min', 'proposals_s'),
               ('frozen target min', 'target_s'))
# time columns shown only when some row has them (older records lack them)
OPTIONAL_TIMES = ('target_s', )
# rows every other row is compared with, seed by seed (the Mask R-CNN track's)
PAIRED_REFERENCES = TRACKS['mask-rcnn'].references
CONFIDENCE = 0.95
# CocoMetric rounds each AP to 3 decimals: a difference of two rounded APs is
# off by up to this much, whatever the spread over seeds
METRIC_RESOLUTION = 0.001


def paired_difference(records: Sequence[dict], method: str, reference: str,
                      metric: str = 'coco/bbox_mAP',
                      confidence: float = CONFIDENCE,
                      resolution: float = METRIC_RESOLUTION) -> Optional[dict]:
    """The difference ``method - reference`` of ``metric``, paired by seed
    (each seed's pretraining and fine-tuning share their randomness), with a
    Student-t confidence interval over the seeds both have, widened on each
    side by the rounding error of a difference of two reported values (else
    seeds whose rounded differences are equal give an interval of zero width
    around what may be one rounding step).

    Args:
        records (Sequence[dict]): Bench records (``method``, ``seed``,
            ``metrics``).
        method, reference (str): Row names.
        metric (str): Metric key. Defaults to box AP.
        confidence (float): Two-sided level. Defaults to 0.95.
        resolution (float): The largest rounding error of one difference.
            Defaults to CocoMetric's, 0.001.

    Returns:
        dict | None: ``mean``, ``low``, ``high`` (nan with one seed: no
        interval), ``n`` and the per-seed ``differences``; None when the two
        rows share no seed with a finite value.
    """
    from scipy import stats

    def values(name):
        return {r['seed']: r['metrics'].get(metric, float('nan'))
                for r in records if r['method'] == name}
    a, b = values(method), values(reference)
    # rounded past float noise: 0.005 - 0.004 is one step, not a hair more
    diffs = [round(a[s] - b[s], 9) for s in sorted(set(a) & set(b))
             if math.isfinite(a[s]) and math.isfinite(b[s])]
    if not diffs:
        return None
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        low = high = float('nan')
    else:
        half = stats.t.ppf(0.5 + confidence / 2, len(diffs) - 1) * \
            statistics.stdev(diffs) / math.sqrt(len(diffs)) + resolution
        low, high = mean - half, mean + half
    return dict(mean=mean, low=low, high=high, n=len(diffs), differences=diffs)


def _interval(d: Optional[dict]) -> str:
    if d is None:
        return '-'
    if not math.isfinite(d['low']):
        return f"{100 * d['mean']:+.1f} (1 seed)"
    return f"{100 * d['mean']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}]"


def ordering_statement(records: Sequence[dict],
                       references: Sequence[str] = PAIRED_REFERENCES) -> str:
    """What the seeds support: each row above or below a reference where the
    paired interval of box AP excludes 0; otherwise that no ordering is."""
    names = list(dict.fromkeys(r['method'] for r in records))
    labels = {r['method']: r['label'] for r in records}
    claims = []
    for ref in references:
        if ref not in names:
            continue
        for name in names:
            d = paired_difference(records, name, ref) if name != ref else None
            if d is None or not math.isfinite(d['low']):
                continue
            if d['low'] > 0 or d['high'] < 0:
                word = 'above' if d['low'] > 0 else 'below'
                claims.append(f"{labels[name]} is {word} {labels[ref]}: box AP "
                              f"{_interval(d)} x100 ({d['n']} seeds, "
                              f"{round(100 * CONFIDENCE)} % interval)")
    if not claims:
        return ('No ordering is supported: every paired interval of box AP '
                f'(against {", ".join(labels.get(r, r) for r in references)}) '
                'contains 0, or a row has fewer than 2 seeds.')
    return 'Supported by the seeds: ' + '; '.join(claims) + '. No other ordering is.'


def _mean_spread(values: Sequence[float]) -> Tuple[float, float]:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    if not vals:
        return float('nan'), float('nan')
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.)


def summarize(records: Sequence[dict],
              metrics: Sequence[Tuple[str, str]] = TABLE_METRICS) -> List[dict]:
    """Records -> one summary per method (in first-seen order): per metric
    (``metrics``: column, key) and time the mean, the sample standard
    deviation over seeds and the values."""
    by_method: Dict[str, List[dict]] = {}
    for r in records:
        by_method.setdefault(r['method'], []).append(r)
    rows = []
    for name, recs in by_method.items():
        row = dict(method=name, label=recs[0]['label'], kind=recs[0]['kind'],
                   seeds=[r['seed'] for r in recs])
        for col, key in metrics:
            vals = [r['metrics'].get(key, float('nan')) for r in recs]
            row[col] = (*_mean_spread(vals), vals)
        for col, key in TABLE_TIMES:
            vals = [r.get(key, 0.) / 60 for r in recs]
            row[col] = (*_mean_spread(vals), vals)
        rows.append(row)
    return rows


def _time_columns(rows: Sequence[dict]) -> List[str]:
    """The time columns of ``rows``: optional ones only where some row has
    a time."""
    return [col for col, key in TABLE_TIMES if key not in OPTIONAL_TIMES or
            any(v > 0 for r in rows for v in r[col][2])]


def markdown_table(rows: Sequence[dict],
                   records: Optional[Sequence[dict]] = None,
                   references: Sequence[str] = PAIRED_REFERENCES,
                   metrics: Sequence[Tuple[str, str]] = TABLE_METRICS) -> str:
    """The summary as a markdown table: AP as mean ± std over seeds (x100,
    COCO's usual scale), times in minutes (mean); with ``records``, each row's
    box AP minus each of ``references`` (default: scratch's and BYOL's),
    paired by seed, with its interval. ``metrics``: the (column, key) pairs
    ``rows`` were summarized with."""
    present = {r['method'] for r in rows}
    refs = [ref for ref in references if records and ref in present]
    labels = {r['method']: r['label'] for r in rows}
    metric_cols = [col for col, _ in metrics]
    times = _time_columns(rows)
    head = ['method', 'seeds'] + metric_cols + \
        [f'APbb - {labels[ref]} [{round(100 * CONFIDENCE)} % CI]' for ref in refs] + \
        times
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for r in rows:
        cells = [r['label'], str(len(r['seeds']))]
        for col in metric_cols:
            mean, std, _ = r[col]
            cells.append(f'{100 * mean:.1f} ± {100 * std:.1f}'
                         if len(r['seeds']) > 1 else f'{100 * mean:.1f}')
        for ref in refs:
            cells.append('-' if r['method'] == ref else
                         _interval(paired_difference(records, r['method'], ref)))
        for col in times:
            cells.append(f'{r[col][0]:.1f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


KIND_COLOURS = {'object': '#d62728', 'image': '#1f77b4', 'supervised': '#2ca02c',
                'none': '#7f7f7f'}
PROTOCOL_MARKERS = ('o', 's', '^', 'D')


def plot(tables: Dict[str, List[dict]], out: str, title: str = '') -> str:
    """Box AP by method, one panel per protocol (bars: mean, dots: seeds,
    whiskers: std), and box AP against pretraining + proposal precompute
    time (one marker per protocol). Returns ``out``.

    Args:
        tables (dict): Protocol label -> its :func:`summarize` rows.
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    n = len(tables)
    fig, axes = plt.subplots(1, n + 1, figsize=(4.6 * (n + 1), 4.6))
    axes = list(axes) if n else [axes]
    time_ax = axes[-1]
    for (name, rows), ax, marker in zip(tables.items(), axes, PROTOCOL_MARKERS):
        xs = range(len(rows))
        for x, r in zip(xs, rows):
            mean, std, vals = r['APbb']
            colour = KIND_COLOURS[r['kind']]
            ax.bar(x, 100 * mean, color=colour, alpha=0.75, yerr=100 * std,
                   capsize=3)
            ax.scatter([x] * len(vals), [100 * v for v in vals], color='k', s=10,
                       zorder=3)
            # a row's cost: its pretraining, the proposal search and the frozen
            # target's pretraining it waited for
            t_mean, t_std, _ = r['pretrain min']
            t_mean += r['proposal precompute min'][0] + r['frozen target min'][0]
            time_ax.errorbar(t_mean, 100 * mean, xerr=t_std, yerr=100 * std,
                             fmt=marker, color=colour, capsize=2, alpha=0.8)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([r['label'] for r in rows], rotation=35, ha='right',
                           fontsize=7)
        ax.set_ylabel('box AP (val, x100)')
        ax.set_title(name, fontsize=9)
    kinds = {r['kind'] for rows in tables.values() for r in rows}
    axes[0].legend(handles=[Patch(color=c, alpha=0.75, label=k)
                            for k, c in KIND_COLOURS.items() if k in kinds],
                   fontsize=7, loc='upper right')
    time_ax.legend(handles=[Line2D([], [], marker=m, ls='', color='k', label=name)
                            for name, m in zip(tables, PROTOCOL_MARKERS)],
                   fontsize=7)
    time_ax.set_xlabel('pretraining + proposals (+ target) wall time (min)')
    time_ax.set_ylabel('box AP (val, x100)')
    time_ax.set_title('box AP against pretraining cost', fontsize=9)
    time_ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def heatmap_recall_table(result: dict) -> str:
    """``benchmarks/heatmap_recall.py --out``'s JSON as a markdown table."""
    thrs = [f'{t:g}' for t in result['iou']]
    lines = [f"Heat-map proposals on {result['split']} ({result['num_images']} "
             f"images, {result['num_gt']} objects, {result['boxes_per_image']} boxes "
             f"per image, mean of {len(result['seeds'])} sampling seed(s)); random "
             'and grid boxes have the same count and the mean scale '
             f"({result['matched_scale']:.3f}) of '{result['rows'][0]['name']}':",
             '', '| proposals | ' + ' | '.join(f'recall@{t}' for t in thrs) +
             ' | mean scale sqrt(wh)/sqrt(WH) |', '|---|' + '---|' * (len(thrs) + 1)]
    for row in result['rows']:
        lines.append(f"| {row['name']} | " + ' | '.join(
            f"{row['recall'][t]:.3f}" for t in thrs) + f" | {row['mean_scale']:.3f} |")
    return '\n'.join(lines) + '\n'


def write_report(records: Sequence[dict], out_dir: str, preset: Preset,
                 header: str = '', heatmap: Optional[dict] = None,
                 track: Track = TRACKS['mask-rcnn']) -> Dict[str, str]:
    """bench.md (per protocol: table, per-seed values, what the seeds
    support; the heat-map recall), bench.csv (one line per record and
    protocol) and bench.png in ``out_dir``, for the records of one
    ``track`` (its metrics, its references). Returns their paths.

    A frozen target's pretraining (``target_s``) is shared by the rows of a
    seed that name it: each such row's record carries it, the table shows it
    in its own column and the plot adds it to the row's cost."""
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(md=osp.join(out_dir, 'bench.md'), csv=osp.join(out_dir, 'bench.csv'),
                 png=osp.join(out_dir, 'bench.png'))
    present = [p for p in PROTOCOLS.values()
               if any(p.name in r.get('protocols', {}) for r in records)]
    tables = {}
    with open(paths['md'], 'w') as f:
        if header:
            f.write(header.rstrip() + '\n\n')
        for protocol in present:
            recs = protocol_records(records, protocol.name)
            rows = summarize(recs, track.metrics)
            tables[protocol.label] = rows
            f.write(f'### {protocol.label} ({labeled_count(preset, protocol)} '
                    'labelled images)\n\n')
            f.write(markdown_table(rows, recs, track.references, track.metrics))
            per_seed = [c for c, _ in track.metrics if c in ('APbb', 'APmk')]
            f.write(f'\nPer seed ({" / ".join(per_seed)} x100): ' + '; '.join(
                f"{r['label']}: " + ', '.join(
                    '/'.join(f'{100 * v:.1f}' for v in values)
                    for values in zip(*(r[c][2] for c in per_seed)))
                for r in rows) + '\n')
            empty = [f"{r['label']} seed {r['seed']}" for r in recs
                     if r.get('no_detections')]
            if empty:
                f.write('\nNo detection above the test threshold (AP 0): ' +
                        ', '.join(empty) + '.\n')
            f.write('\n' + ordering_statement(recs, track.references) + '\n\n')
        if heatmap is not None:
            f.write(heatmap_recall_table(heatmap))
    # finetune_s includes the evaluation on val (the fine-tuning's val loop)
    keys = ['method', 'seed', 'protocol', 'pretrain_s', 'convert_s', 'finetune_s',
            'proposals_s'] + [k for k in OPTIONAL_TIMES
                              if any(r.get(k) for r in records)]
    with open(paths['csv'], 'w') as f:
        f.write(','.join(keys + [c for c, _ in track.metrics]) + '\n')
        for protocol in present:
            for r in protocol_records(records, protocol.name):
                r = dict(dict.fromkeys(keys, 0.), **r, protocol=protocol.name)
                f.write(','.join([str(r[k]) if not isinstance(r[k], float)
                                  else f'{r[k]:.1f}' for k in keys] +
                                 [f"{r['metrics'].get(key, float('nan')):.4f}"
                                  for _, key in track.metrics]) + '\n')
    plot(tables, paths['png'],
         f'objcon-bench {preset.name}, {track.label}: {preset.pool}-scene pool, '
         f'{preset.labeled} '
         f'labelled, {preset.val} val, R18, {preset.pretrain_epochs} pretraining '
         f'epoch(s), {preset.finetune_iters} fine-tuning iterations')
    return paths
