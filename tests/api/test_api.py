"""The read-only web API (FastAPI TestClient) over a profile holding a PI1070 slice and a small computed campaign."""

import io

import pandas as pd
import pytest
from click.testing import CliRunner

API = '/api/v1'


@pytest.fixture
def client(aiida_profile_clean, pi1070_slice, computed_group):
    from fastapi.testclient import TestClient

    from aiida_polyinf.api.app import create_app
    from aiida_polyinf.export.radonpy import import_radonpy

    from aiida_polyinf.api import readonly

    import_radonpy(pi1070_slice, group_label='radonpy/slice')
    app = create_app(aiida_profile_clean.name)
    yield TestClient(app)
    readonly.undo(app.state.storage)


def test_the_database_refuses_writes(client):
    from sqlalchemy import text

    from aiida_polyinf.api import readonly

    storage = client.app.state.storage
    assert client.app.state.dialect == 'sqlite'
    assert readonly.check(storage)
    session = storage.get_session()
    with pytest.raises(Exception, match='readonly|read-only|query_only'):
        session.execute(text("INSERT INTO db_dbsetting (key, val, description, time) "
                             "VALUES ('x', '1', 'probe', CURRENT_TIMESTAMP)"))
    session.rollback()


def test_every_write_method_gets_405(client):
    for method in ('post', 'put', 'patch', 'delete'):
        for path in (f'{API}/polymers', f'{API}/dataset', f'{API}/polymers/PE', '/docs'):
            response = getattr(client, method)(path)
            assert response.status_code == 405, (method, path)
            assert 'read-only' in response.json()['error']


def test_search(client):
    from aiida import orm

    from aiida_polyinf.data.polymer import PolymerData

    everything = client.get(f'{API}/polymers', params={'page_size': 500}).json()
    stored = orm.QueryBuilder().append(PolymerData).count()
    assert everything['total'] == stored >= 27  # the PI1070 slice and the computed group (PE may be in both)
    slice_ = client.get(f'{API}/polymers', params={'group': 'radonpy/slice', 'range': 'density:1.0:',
                                                   'sort': 'density', 'order': 'desc'}).json()
    densities = [item['values']['density'] for item in slice_['items']]
    assert densities == sorted(densities, reverse=True) and min(densities) >= 1.0
    # SMILES in another writing, canonicalised
    found = client.get(f'{API}/polymers', params={'q': 'C(C*)*'}).json()
    assert [item['smiles'] for item in found['items']] == ['*CC*']
    # substructure and stage state
    chlorine = client.get(f'{API}/polymers', params={'smarts': '[Cl]', 'group': 'test/computed'}).json()
    assert [item['smiles'] for item in chlorine['items']] == ['*CC(*)Cl']
    failed = client.get(f'{API}/polymers', params={'stage': 'qm:failed'}).json()
    assert [item['smiles'] for item in failed['items']] == ['*CC(*)c1ccccc1']
    # paging
    pages = [client.get(f'{API}/polymers', params={'page': p, 'page_size': 10}).json() for p in (1, 2, 3)]
    seen = [item['smiles'] for page in pages for item in page['items']]
    assert len(seen) == len(set(seen)) == stored
    capped = client.get(f'{API}/polymers', params={'page_size': 10**6}).json()
    assert capped['page_size'] == 500 and capped['capped']


def test_polymer_page_names_sources_and_provenance(client):
    page = client.get(f'{API}/polymers/*CC*').json()
    sources = {(v['source'], v['protocol']) for v in page['value_table']}
    # PE is in the PI1070 slice and in the computed group: both sources are shown, each labelled
    assert {('aiida-polyinf', 'fast'), ('PI1070', 'external:radonpy')} <= sources
    aggregate = next(v for v in page['value_table'] if v['link'] == 'aggregate' and v['protocol'] == 'fast')
    density = next(r for r in aggregate['values'] if r['name'] == 'density')
    assert density['value'] == pytest.approx(0.905) and density['n'] == 2
    assert aggregate['creator']['uuid'] and aggregate['verdi'].startswith('verdi process show ')
    assert page['processes'] and all(p['verdi'] == f"verdi process show {p['pk']}" for p in page['processes'])
    imported = client.get(f"{API}/polymers/{client.get(f'{API}/polymers', params={'group': 'radonpy/slice'}).json()['items'][0]['uuid']}").json()
    assert {v['source'] for v in imported['value_table']} == {'PI1070'}


def test_dataset_download_matches_polyinf_export(client, tmp_path):
    from aiida_polyinf.cli import cmd_root

    params = {'group': 'radonpy/slice', 'smarts': 'c1ccccc1', 'range': 'density:1.0:'}
    response = client.get(f'{API}/dataset', params=params)
    assert response.status_code == 200 and 'filename="dataset.csv"' in response.headers['content-disposition']
    result = CliRunner().invoke(cmd_root, ['export', '--group', 'radonpy/slice', '--smarts', 'c1ccccc1', '--range',
                                           'density:1.0:', '--out', str(tmp_path / 'x')])
    assert result.exit_code == 0, result.output
    assert response.content == (tmp_path / 'x' / 'dataset.csv').read_bytes()
    frame = pd.read_csv(io.BytesIO(response.content))
    assert len(frame) and (frame['density'] >= 1.0).all()
    parquet = client.get(f'{API}/dataset', params={'group': 'radonpy/slice', 'format': 'parquet'})
    assert len(pd.read_parquet(io.BytesIO(parquet.content))) == 25


def test_status_properties_docs(client):
    status = client.get(f'{API}/status', params={'group': 'test/computed'}).json()
    assert status['polymers'] == 3 and status['columns'][0] == 'stage'
    columns = {c['name']: c for c in client.get(f'{API}/properties', params={'group': 'radonpy/slice'}).json()['columns']}
    assert columns['density']['unit'] == 'g/cm^3' or columns['density']['unit']
    docs = client.get('/docs')
    assert docs.status_code == 200 and '/static/swagger/swagger-ui-bundle.js' in docs.text and 'cdn' not in docs.text
    assert client.get('/static/swagger/swagger-ui-bundle.js').status_code == 200
    assert client.get('/openapi.json').json()['paths'].keys() >= {f'{API}/polymers', f'{API}/dataset'}


@pytest.mark.parametrize('params, item', [
    ({'smarts': 'C((('}, 'smarts'),
    ({'range': 'nope:1:2'}, 'range'),
    ({'range': 'density:x:2'}, 'range'),
    ({'stage': 'qm:finished'}, 'stage'),
    ({'stage': 'qm'}, 'stage'),
    ({'sort': 'nope'}, 'sort'),
    ({'order': 'up'}, 'order'),
    ({'fields': 'density,nope'}, 'fields'),
    ({'similar_to': 'CC'}, 'smiles'),
    ({'min_similarity': '2'}, 'min_similarity'),
    ({'page': '0'}, 'page'),
    ({'group': 'no/such'}, 'group'),
    ({'q': "'; DROP TABLE db_dbnode; --"}, 'identifier'),
])
def test_bad_requests_get_a_named_4xx(client, params, item):
    response = client.get(f'{API}/polymers', params=params)
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert item in body['item'] and body['error']


def test_a_slow_substructure_search_is_stopped(client, monkeypatch):
    from aiida_polyinf.api import app as app_module

    monkeypatch.setattr(app_module, 'SMARTS_SECONDS', 0.001)  # any search is "too slow" now
    response = client.get(f'{API}/polymers', params={'smarts': 'c1ccccc1'})
    assert response.status_code == 422 and 'was stopped' in response.json()['error']
