"""PNG plots of benchmark results (matplotlib, Agg): scaling curves with error bands, parity plots with ensemble
error bars, the variety-vs-volume grid."""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _label(rec):
    return f"{rec['descriptors']} {rec['model'].upper()}"


def scaling_plot(records, path, metric='rmse_sigma', title=''):
    """Metric vs training size, mean ± std band over ensembles/samplings, one line per descriptor set × model."""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for rec in records:
        sizes = sorted(int(s) for s in rec['summary'])
        mean = np.array([rec['summary'][str(s)][metric]['mean'] for s in sizes], dtype=float)
        std = np.array([rec['summary'][str(s)][metric]['std'] for s in sizes], dtype=float)
        line, = ax.plot(sizes, mean, 'o-', label=_label(rec), ms=3)
        ax.fill_between(sizes, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    ax.set_xscale('log')
    ax.set_xlabel('training size')
    ax.set_ylabel({'rmse_sigma': 'RMSE / σ(test)', 'r2': 'R²', 'rmse': 'RMSE'}[metric])
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return pathlib.Path(path)


def parity_plot(panels, path, title=''):
    """Parity plots side by side; a panel is (label, y_true, y_pred, y_pred_std)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2), squeeze=False)
    for ax, (label, y, pred, err) in zip(axes[0], panels):
        y, pred, err = map(np.asarray, (y, pred, err))
        ax.errorbar(y, pred, yerr=err, fmt='o', ms=2, alpha=0.5, elinewidth=0.5)
        lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], 'k--', lw=0.8)
        resid = y - pred
        r2 = 1 - np.sum(resid**2) / np.sum((y - y.mean()) ** 2)
        ax.set_title(f'{label}\nR²={r2:.2f} RMSE/σ={np.sqrt(np.mean(resid**2)) / y.std():.2f}', fontsize=8)
        ax.set_xlabel('MD (PI1070)')
        ax.set_ylabel('predicted')
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return pathlib.Path(path)


def variety_plot(record, path):
    """RMSE/σ vs N for each K (task e); equal-compute cells marked."""
    fig, ax = plt.subplots(figsize=(4.5, 3.5))
    cells = record['summary']
    ks = sorted({int(c.split('x')[1]) for c in cells})
    ns = sorted({int(c.split('x')[0]) for c in cells})
    for k in ks:
        pts = [(n, cells[f'{n}x{k}']['rmse_sigma']) for n in ns if f'{n}x{k}' in cells]
        ax.errorbar([p[0] for p in pts], [p[1]['mean'] for p in pts], yerr=[p[1]['std'] for p in pts], fmt='o-',
                    label=f'K={k}', capsize=2)
    for n in ns:
        for k in ks:
            if n * k == max(ns) and f'{n}x{k}' in cells:
                ax.plot(n, cells[f'{n}x{k}']['rmse_sigma']['mean'], 'k*', ms=10)
    ax.set_xscale('log')
    ax.set_xlabel('N polymers')
    ax.set_ylabel('RMSE / σ(test)')
    ax.set_title(f"{record['target']}: variety vs volume\n(simulated from PI1070 spread; ★ equal compute)", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return pathlib.Path(path)


def plot_results(results, out_dir) -> list:
    """All plots of one task's results into ``out_dir``."""
    out_dir = pathlib.Path(out_dir)
    made = []
    task = results['task']
    if task == 'variety':
        for rec in results['records']:
            made.append(variety_plot(rec, out_dir / f"variety_{rec['target']}.png"))
        return made
    by = {}
    for rec in results['records']:
        by.setdefault((rec['task'], rec['target']), []).append(rec)
    for (t, target), recs in by.items():
        if t == 'interpolation' or t.startswith('scaling'):
            metric = 'r2' if t == 'interpolation' else 'rmse_sigma'
            made.append(scaling_plot(recs, out_dir / f'{t}_{target}.png', metric, f'{t}: {target}'))
        if t.startswith('extrapolation'):
            panels = [(_label(r), r['parity']['y'], r['parity']['pred'], r['parity']['pred_std']) for r in recs]
            made.append(parity_plot(panels, out_dir / f'parity_{t}_{target}.png', f'{t}: {target}'))
        if t.startswith('scaling'):
            panels = [(_label(r) + ' n=100', r['parity']['y'], r['parity']['100']['pred'], r['parity']['100']['pred_std'])
                      for r in recs if '100' in r['parity']]
            if panels:
                made.append(parity_plot(panels, out_dir / f'parity_{t}_{target}_n100.png', f'{t}: {target}'))
    return made
