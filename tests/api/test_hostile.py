"""A corpus of malformed and hostile requests (more than 100): each gets a 4xx with a JSON body naming the item and the
reason, never a 500, a stack trace or a hang; and nothing in the database changes."""

import time
import urllib.parse

import pytest

API = '/api/v1'
SQL = ["' OR '1'='1", "'; DROP TABLE db_dbnode; --", '1; DELETE FROM db_dbnode', '" OR ""="', "1' UNION SELECT * FROM "
       "db_dbuser --", '%27%20OR%201%3D1', "admin'--", 'robert\'); DROP TABLE students;--']
BAD_SMILES = ['C1CC', 'C(((C', 'XYZ', '*C*C*C*', 'CC', '[Na+].[Cl-]', 'c1ccccc', '', ' ', '💥']
BAD_SMARTS = ['C(((', '[C', '[$(]', 'c1ccc', '[', ')(', '[C;;;', '{}', '[$([$([$(C']
TRAVERSAL = ['../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%2e%2e/%2e%2e/etc/passwd', '....//....//etc/passwd',
             '/etc/passwd', 'C:\\Windows\\win.ini', '..\\..\\boot.ini']


def _corpus():
    cases = []
    for value in SQL:
        cases += [('get', f'{API}/polymers', {'q': value}), ('get', f'{API}/polymers', {'group': value}),
                  ('get', f'{API}/polymers', {'sort': value}), ('get', f'{API}/polymers', {'fields': value}),
                  ('get', f'{API}/polymers', {'range': f'{value}:1:2'}), ('get', f'{API}/dataset', {'group': value}),
                  ('get', f'{API}/polymers/{urllib.parse.quote(value, safe="")}', {})]
    for value in BAD_SMILES:
        cases += [('get', f'{API}/polymers', {'similar_to': value or 'x'}),
                  ('get', f'{API}/polymers/{urllib.parse.quote(value, safe="") or "%20"}', {})]
    for value in BAD_SMARTS:
        cases += [('get', f'{API}/polymers', {'smarts': value}),
                  ('get', f'{API}/dataset', {'group': 'radonpy/slice', 'smarts': value})]
    for name in ('densty', 'Density', 'uuid.aggregate', 'missing.qm', 'smiles', '__class__', 'density_stdx'):
        cases += [('get', f'{API}/polymers', {'range': f'{name}:0:1'})]
    for size in ('0', '-1', 'abc', '1e9', '99999999999999999999999999999999999999999'):
        cases += [('get', f'{API}/polymers', {'page_size': size}), ('get', f'{API}/polymers', {'page': size})]
    for value in TRAVERSAL:
        cases += [('get', f'/static/swagger/{value}', {}), ('get', f'{API}/dataset',
                                                             {'group': 'radonpy/slice', 'format': value})]
    cases += [('get', f'{API}/polymers', {'q': 'C' * 5000}), ('get', f'{API}/polymers', {'smarts': 'C' * 2000}),
              ('get', f'{API}/polymers', {'range': ['density:1:2'] * 400}),
              ('get', f'{API}/polymers', {'min_similarity': '-0.5'}), ('get', f'{API}/polymers', {'min_similarity': 'nan'}),
              ('get', f'{API}/polymers', {'stage': 'md:deleted'}), ('get', f'{API}/polymers', {'stage': ':'}),
              ('get', f'{API}/polymers', {'order': 'sideways'}), ('get', f'{API}/dataset', {}),
              ('get', f'{API}/dataset', {'group': 'radonpy/slice', 'range': 'density:a:b'}),
              ('get', f'{API}/status', {'group': 'no/such'}), ('get', f'{API}/nothing', {})]
    for method in ('post', 'put', 'patch', 'delete'):
        for path in (f'{API}/polymers', f'{API}/polymers/PE', f'{API}/dataset', f'{API}/status', f'{API}/groups',
                     '/docs', '/openapi.json'):
            cases.append((method, path, {}))
    return cases


CORPUS = _corpus()


def test_the_corpus_is_large():
    assert len(CORPUS) >= 100


@pytest.fixture(scope='module')
def hostile_client(aiida_profile):
    """One app for the whole corpus (module scope: the corpus does not change the database, which the test checks)."""
    import pathlib
    import tempfile

    from fastapi.testclient import TestClient

    from aiida_polyinf.api import readonly
    from aiida_polyinf.api.app import create_app
    from aiida_polyinf.datasets import PI1070
    from aiida_polyinf.export.radonpy import import_radonpy

    aiida_profile.reset_storage()
    lines = PI1070.read_text(encoding='utf-8').splitlines(keepends=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / 'slice.csv'
        path.write_text(''.join(lines[:26]), encoding='utf-8')
        import_radonpy(path, group_label='radonpy/slice')
    app = create_app(aiida_profile.name)
    yield TestClient(app, raise_server_exceptions=False)
    readonly.undo(app.state.storage)


def test_every_hostile_request_gets_a_named_4xx(hostile_client):
    from aiida import orm

    before = orm.QueryBuilder().append(orm.Node).count()
    failures = []
    for method, path, params in CORPUS:
        start = time.perf_counter()
        response = getattr(hostile_client, method)(path, params=params)
        seconds = time.perf_counter() - start
        ok = 400 <= response.status_code < 500 and seconds < 15
        try:
            body = response.json()
            ok = ok and isinstance(body.get('error'), str) and body['error'] and 'item' in body
            ok = ok and 'Traceback' not in body['error']
        except ValueError:
            ok = False
        if not ok:
            failures.append(f'{method.upper()} {path} {params}: {response.status_code} {response.text[:160]!r} '
                            f'in {seconds:.1f} s')
    assert not failures, f'{len(failures)} of {len(CORPUS)}:\n' + '\n'.join(failures)
    assert orm.QueryBuilder().append(orm.Node).count() == before


def test_huge_page_sizes_are_capped(hostile_client):
    for size in (501, 10**6, 2**62):
        body = hostile_client.get(f'{API}/polymers', params={'page_size': size}).json()
        assert body['page_size'] == 500 and body['capped'] and len(body['items']) <= 500


def test_cors_is_off(hostile_client):
    response = hostile_client.get(f'{API}/groups', headers={'Origin': 'https://evil.example'})
    assert 'access-control-allow-origin' not in {k.lower() for k in response.headers}
