"""The read-only web API over a profile (FastAPI): search, a polymer's values and provenance, dataset download, status.

Read-only by construction: the profile's database connections refuse writes (:mod:`.readonly`), and every route is a
GET (any other method gets 405). Paths are versioned (``/api/v1/...``); OpenAPI at ``/openapi.json`` and the docs at
``/docs``, served from the ``swagger-ui-bundle`` files installed with the package (no CDN).

Every bad request gets a 4xx with a JSON body ``{"error": ..., "item": ...}`` naming the parameter and the reason.
"""

from __future__ import annotations

import math
import pathlib
import tempfile

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from .catalog import Catalog

API = '/api/v1'
MAX_PAGE_SIZE = 500
MAX_QUERY_BYTES = 8192
MAX_TEXT = 1000
SMARTS_SECONDS = 5.0
SORT_ORDERS = ('asc', 'desc')


class ApiError(Exception):
    def __init__(self, status: int, item: str, message: str):
        super().__init__(message)
        self.status, self.item, self.message = status, item, message


def _error(status, item, message):
    return JSONResponse(status_code=status, content={'error': message, 'item': item})


def _clean(value):
    """JSON-safe: NaN and infinities as null, numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, 'item') and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _selection(q, smarts, similar_to, min_similarity, ranges, stages):
    from ..export.select import Selection, SelectionError, parse_range

    for item, text in (('q', q), ('smarts', smarts), ('similar_to', similar_to)):
        if text is not None and len(text) > MAX_TEXT:
            raise ApiError(422, item, f'longer than {MAX_TEXT} characters')
    parsed_ranges = {}
    for text in ranges or []:
        try:
            name, bounds = parse_range(text)
        except SelectionError as error:
            raise ApiError(422, 'range', str(error)) from None
        parsed_ranges[name] = bounds
    parsed_stages = {}
    for text in stages or []:
        name, _, state = text.partition(':')
        if not name or not state:
            raise ApiError(422, 'stage', f'{text!r} is not STAGE:STATE (e.g. md:done)')
        parsed_stages[name] = state
    return Selection(identifier=q or None, smarts=smarts or None, similar_to=similar_to or None,
                     min_similarity=min_similarity, ranges=parsed_ranges, stages=parsed_stages)


def _select(frame, selection):
    """``select.apply`` with the substructure match in a child process killed at its time limit."""
    import dataclasses

    import numpy as np

    from ..export.select import SelectionError, apply
    from ..polymers.search import SearchError, smarts_pattern, substructure_mask
    from .worker import TimeLimit, run_limited

    try:
        rest = apply(frame, dataclasses.replace(selection, smarts=None))
        if selection.smarts and len(rest):
            smarts_pattern(selection.smarts)  # unparsable: refused here, at once
            try:
                mask = run_limited(substructure_mask, (list(rest['smiles']), selection.smarts), SMARTS_SECONDS)
            except TimeLimit:
                raise ApiError(422, 'smarts', f'the substructure search took longer than {SMARTS_SECONDS:g} s and was '
                                              'stopped: make the pattern more specific') from None
            rest = rest[np.asarray(mask, dtype=bool)].reset_index(drop=True)
        return rest
    except (SelectionError, SearchError) as error:
        raise ApiError(422, getattr(error, 'item', None) or getattr(error, 'reason', 'query'), str(error)) from None


def _summary_fields(frame):
    from ..common.properties import PROPERTIES

    return [name for name in PROPERTIES if name in frame.columns]


def _value_table(record: dict) -> list[dict]:
    """The polymer page's values: per Dict (source, protocol, creator), each value with its std, n and unit."""
    out = []
    for item in record['values']:
        values, units = item['values'], item['units']
        rows = []
        for name in sorted(values):
            if name.endswith(('_std', '_min', '_max', '_count')) and name.rsplit('_', 1)[0] in values:
                continue
            rows.append({'name': name, 'value': values[name], 'std': values.get(f'{name}_std'),
                         'n': values.get(f'{name}_count', 1 if item['trial'] is not None else None),
                         'min': values.get(f'{name}_min'), 'max': values.get(f'{name}_max'),
                         'unit': units.get(name, '')})
        out.append({'link': item['link'], 'descriptor_set': item['descriptor_set'], 'trial': item['trial'],
                    'source': item['source'], 'protocol': item['protocol'], 'origin': item['origin'],
                    'dict_uuid': item['uuid'], 'creator': item['creator'],
                    'verdi': f"verdi process show {item['creator']['pk']}", 'values': rows,
                    'missing': item['missing']})
    return out


def _releasing(storage):
    """A decorator for the sync routes: each runs in a pool thread whose AiiDA session (thread-scoped) would keep its
    database connection checked out; closing it after the request returns the connection to the pool (without it the
    pool runs dry after 15 threads and requests wait 30 s)."""
    import functools

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            finally:
                storage.get_session().close()

        return wrapper

    return decorate


def _profile(name: str | None, read_only: bool):
    """The profile to load: on PostgreSQL, with the read-only role of ``polyinf setup --postgres`` when it has one
    (the server then refuses writes too), else as configured."""
    import copy

    from aiida.manage.configuration import get_config
    from aiida.manage.configuration.profile import Profile

    from ..profiles.setup import readonly_role

    config = get_config()
    profile = config.get_profile(name) if name else config.get_profile(config.default_profile_name)
    role = readonly_role(profile.name) if read_only and profile.storage_backend == 'core.psql_dos' else None
    if role is None:
        return profile.name
    data = copy.deepcopy(profile.dictionary)
    data['storage']['config'].update(database_username=role['user'], database_password=role['password'])
    return Profile(profile.name, data)


def create_app(profile: str | None = None, read_only: bool = True) -> FastAPI:
    """The app over ``profile`` (the default profile when None). ``read_only`` is only ever False in a test that
    shows what it guards against."""
    from aiida import load_profile
    from aiida.manage import get_manager

    load_profile(_profile(profile, read_only), allow_switch=True)
    storage = get_manager().get_profile_storage()
    dialect = None
    if read_only:
        from .readonly import make_read_only

        dialect = make_read_only(storage)
    catalog = Catalog()
    app = FastAPI(title='aiida-polyinf polymer database (read-only)', version='1', docs_url=None, redoc_url=None,
                  openapi_url='/openapi.json')
    app.state.catalog, app.state.storage, app.state.dialect = catalog, storage, dialect
    app.state.profile = get_manager().get_profile().name

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, error: ApiError):  # noqa: ARG001
        return _error(error.status, error.item, error.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, error: RequestValidationError):  # noqa: ARG001
        first = error.errors()[0] if error.errors() else {}
        item = '.'.join(str(x) for x in first.get('loc', [])[1:]) or 'request'
        return _error(422, item, first.get('msg', 'invalid request'))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException):  # noqa: ARG001
        item = 'method' if error.status_code == 405 else 'path'
        return _error(error.status_code, item, str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception):  # noqa: ARG001
        return _error(500, 'server', f'internal error ({type(error).__name__}); the request changed nothing')

    @app.middleware('http')
    async def _limits(request: Request, call_next):
        if len(request.url.query.encode()) > MAX_QUERY_BYTES:
            return _error(414, 'query', f'query string longer than {MAX_QUERY_BYTES} bytes')
        if request.method not in ('GET', 'HEAD', 'OPTIONS'):
            return _error(405, 'method', f'{request.method} is not allowed: this database is read-only')
        return await call_next(request)

    released = _releasing(storage)

    def frame_of(group: str | None):
        if group is not None and not catalog.group_exists(group):
            raise ApiError(404, 'group', f'no group {group!r}')
        return catalog.frame(group)

    @app.get(f'{API}/groups')
    @released
    def groups():
        """The groups of polymers, with their sizes."""
        return {'groups': catalog.groups()}

    @app.get(f'{API}/properties')
    @released
    def properties(group: str | None = None):
        """The value columns a range search and sorting may use, with units and meanings."""
        from ..export.dataset import column_meaning
        from ..export.select import value_columns

        frame = frame_of(group)
        units = frame.attrs.get('units', {})
        return {'columns': [{'name': c, 'unit': units.get(c, ''), 'meaning': column_meaning(c)}
                            for c in value_columns(frame)]}

    @app.get(f'{API}/polymers')
    @released
    def search(group: str | None = None, q: str | None = None, smarts: str | None = None,
               similar_to: str | None = None, min_similarity: float = Query(0.5, ge=0.0, le=1.0),
               range: list[str] = Query(default=[]), stage: list[str] = Query(default=[]),  # noqa: A002
               fields: str | None = None, sort: str = 'smiles', order: str = 'asc',
               page: int = Query(1, ge=1, le=1_000_000), page_size: int = Query(50, ge=1, le=2**63 - 1)):
        """Search polymers: by id or SMILES (`q`), substructure (`smarts`), similarity, value ranges
        (`range=density:1.1:1.3`, repeatable), stage states (`stage=md:done`); paged and sorted."""
        from ..export.select import value_columns

        frame = frame_of(group)
        found = _select(frame, _selection(q, smarts, similar_to, min_similarity, range, stage))
        allowed = value_columns(frame)
        if sort != 'smiles' and sort not in allowed:
            raise ApiError(422, 'sort', f'unknown column {sort!r}: sort by smiles or a value column (GET '
                                        f'{API}/properties)')
        if order not in SORT_ORDERS:
            raise ApiError(422, 'order', f'{order!r} is neither asc nor desc')
        wanted = [f.strip() for f in fields.split(',') if f.strip()] if fields else _summary_fields(frame)
        unknown = [f for f in wanted if f not in allowed]
        if unknown:
            raise ApiError(422, 'fields', f'unknown column(s) {", ".join(repr(u) for u in unknown[:5])}')
        size = min(page_size, MAX_PAGE_SIZE)
        if len(found):
            found = found.sort_values([sort, 'smiles'] if sort != 'smiles' else ['smiles'],
                                      ascending=order == 'asc', na_position='last', kind='mergesort')
        chunk = found.iloc[(page - 1) * size: page * size]
        items = [{'uuid': r['polymer_uuid'], 'smiles': r['smiles'],
                  'source_ids': [s for s in str(r['source_ids']).split(';') if s], 'protocol': r['protocol'],
                  'values': {f: r[f] for f in wanted}} for _, r in chunk.iterrows()]
        return _clean({'total': int(len(found)), 'page': page, 'page_size': size, 'capped': page_size > size,
                       'sort': sort, 'order': order, 'items': items})

    @app.get(f'{API}/polymers/{{identifier}}')
    @released
    def polymer(identifier: str):
        """One polymer: identity, every value with its std, n and unit per source and protocol, and provenance."""
        from ..export.show import NotFound, record, resolve

        if len(identifier) > MAX_TEXT:
            raise ApiError(422, 'identifier', f'longer than {MAX_TEXT} characters')
        try:
            pks = resolve(identifier)
        except NotFound as error:
            raise ApiError(404, 'identifier', str(error)) from None
        if len(pks) != 1:
            raise ApiError(409, 'identifier', f'{identifier!r} names {len(pks)} polymers: use a uuid')
        data = record(pks[0])
        data['value_table'] = _value_table(data)
        for proc in data['processes']:
            proc['verdi'] = f"verdi process show {proc['pk']}"
        return _clean(data)

    @app.get(f'{API}/dataset')
    @released
    def dataset(group: str, format: str = 'csv', trials: bool = False, q: str | None = None,  # noqa: A002
                smarts: str | None = None, similar_to: str | None = None,
                min_similarity: float = Query(0.5, ge=0.0, le=1.0), range: list[str] = Query(default=[]),  # noqa: A002
                stage: list[str] = Query(default=[])):
        """The selection as `polyinf export` writes it (the same bytes): csv, parquet or the manifest (json)."""
        from ..export.dataset import export_dataset

        if format not in ('csv', 'parquet', 'manifest'):
            raise ApiError(422, 'format', f'{format!r} is none of csv, parquet, manifest')
        frame = frame_of(group)
        selection = _selection(q, smarts, similar_to, min_similarity, range, stage)
        _select(frame, selection)  # refuses a bad or too slow selection before the export runs it again
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp)
            export_dataset(group, out, formats=('parquet',) if format == 'parquet' else ('csv',), trials=trials,
                           selection=selection)
            name = {'csv': 'dataset.csv', 'parquet': 'dataset.parquet', 'manifest': 'manifest.json'}[format]
            body = (out / name).read_bytes()
        media = {'csv': 'text/csv', 'parquet': 'application/vnd.apache.parquet', 'manifest': 'application/json'}
        return Response(body, media_type=media[format],
                        headers={'Content-Disposition': f'attachment; filename="{name}"'})

    @app.get(f'{API}/status')
    @released
    def status(group: str | None = None, protocol: str | None = None):
        """Campaign status per stage, as `polyinf status` gives it."""
        from ..campaign.status import COLUMNS, campaign_status

        if group is not None and not catalog.group_exists(group):
            raise ApiError(404, 'group', f'no group {group!r}')
        result = campaign_status(group, protocol)
        return _clean({'group': group, 'protocol': protocol, 'polymers': result.polymers,
                       'runs': len(result.chains), 'not_submitted': result.unsubmitted,
                       'columns': ['stage', *COLUMNS], 'rows': [list(r) for r in result.rows()]})

    _docs(app)
    from .pages import register

    register(app)
    return app


def _docs(app: FastAPI):
    """``/docs`` from the swagger-ui-bundle files installed with the package: no CDN, works offline."""
    import swagger_ui_bundle
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount('/static/swagger', StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name='swagger')

    @app.get('/docs', include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url='/openapi.json', title='aiida-polyinf API',
                                   swagger_js_url='/static/swagger/swagger-ui-bundle.js',
                                   swagger_css_url='/static/swagger/swagger-ui.css',
                                   swagger_favicon_url='/static/swagger/favicon-32x32.png')
