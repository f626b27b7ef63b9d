"""The Starlette application: read-only pages over one store, every route a GET.

Ids in URLs are validated (lowercase hex, 4 to 32 characters; a unique prefix redirects to the full id),
an unknown id is a 404 page, and no route takes a path: downloads and previews find their bytes through the
store's record of the id. Each response carries `Server-Timing: app;dur=<ms>` (what `bench/ui_speed.py`
reads) and headers that keep the page from being framed or fed foreign scripts.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import zipfile
from typing import Any

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import AutologError
from ..store.sql import SqlStore
from . import catalog, fetch, goto, lineage, previews, snapshots
from .auth import TokenGate
from .queries import PAGE_SIZE, Queries, TaskFilter, valid_id
from .render import natural_key, templates

CONSUMERS_PAGE = 100  # tasks per page of a model's or artifact's consumers
SIDEBAR_PROJECTS = 100  # more than this: the sidebar links to /projects, which lists them all
log = logging.getLogger("autolog.ui")

HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


# -- the app ------------------------------------------------------------------------------------------
class Site:
    """Routes bound to one store."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri
        self.queries = Queries(SqlStore(tracking_uri))
        self.templates = templates()

    def page(self, request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        return self.templates.TemplateResponse(
            request, name, {"store": self.tracking_uri, **context}, status_code=status_code
        )

    def row(self, table: str, request: Request) -> dict[str, Any] | RedirectResponse:
        """The row an `{id}` path parameter names; a prefix redirects to the full id; else a 404."""
        key = request.path_params["id"]
        row = self.queries.resolve(table, key)
        if row is None:
            raise HTTPException(404, f"no {table[:-1]} with id {key!r}")
        if row["id"] != key:
            url = request.url.path.replace(f"/{key}", f"/{row['id']}", 1)
            return RedirectResponse(url + (f"?{request.url.query}" if request.url.query else ""), 307)
        return row

    # -- pages ----------------------------------------------------------------------------------------
    def tasks(self, request: Request) -> Response:
        f = TaskFilter.from_params(request.query_params)
        table = self.queries.task_page(f)
        partial = request.query_params.get("partial") == "1"
        if partial:
            return self.page(request, "_task_table.html", table=table, f=f)
        projects = sorted(self.queries.projects(), key=lambda pair: natural_key(pair[0]))
        shown = projects if request.url.path == "/projects" else projects[:SIDEBAR_PROJECTS]
        if f.project and all(name != f.project for name, _n in shown):
            shown = shown + [(name, n) for name, n in projects if name == f.project]
        return self.page(request, "tasks.html", table=table, f=f, projects=shown, project_total=len(projects))

    def task_status(self, request: Request) -> Response:
        ids = [x for x in request.query_params.getlist("id")[:PAGE_SIZE] if len(x) == 32 and valid_id(x)]
        counts = self.queries.counts(ids) if request.query_params.get("counts") == "1" else {}
        return JSONResponse(
            {
                k: {"status": v["status"], "ended": v["ended"], **counts.get(k, {})}
                for k, v in self.queries.statuses(ids).items()
            }
        )

    def task(self, request: Request) -> Response:
        row = self.row("tasks", request)
        if isinstance(row, Response):
            return row
        tab = request.query_params.get("tab", "info")
        params = request.query_params
        listed = tab == "artifacts" or params.get("partial") == "outputs"
        outputs = snapshots.page(  # the other tabs need only the count (the Artifacts tab's label)
            self.queries,
            row["id"],
            after=_int(params.get("after")),
            before=_int(params.get("before")),
            last=params.get("last") == "1",
            limit=snapshots.SNAPSHOT_PAGE if listed else 0,
        )
        if params.get("partial") == "outputs":  # what a running task's page re-fetches as snapshots arrive
            return self.page(request, "_snapshots.html", task=row, snaps=outputs)
        inputs = self.queries.inputs(row["id"])
        input_artifacts = self.queries.input_artifacts(row["id"], 500)
        producers = self.queries.tasks_by_id({r["task_id"] for r in [*inputs, *input_artifacts] if r["task_id"]})
        return self.page(
            request,
            "task.html",
            task=row,
            tab=tab if tab in ("info", "artifacts", "lineage") else "info",
            inputs=inputs,
            snaps=outputs,
            producers=producers,
            artifacts=self.queries.artifacts(row["id"]),
            input_artifacts=input_artifacts,
        )

    def model(self, request: Request) -> Response:
        row = self.row("models", request)
        if isinstance(row, Response):
            return row
        producer = self.queries.tasks_by_id({row["task_id"]}).get(row["task_id"]) if row["task_id"] else None
        return self.page(
            request,
            "model.html",
            model=row,
            producer=producer,
            consumers=self.queries.consumers(row["id"], CONSUMERS_PAGE, _int(request.query_params.get("from")) or 0),
            consumers_total=self.queries.count_consumers(row["id"]),
            consumers_from=_int(request.query_params.get("from")) or 0,
            consumers_page=CONSUMERS_PAGE,
            members=json.loads(row["members"]) if row["members"] else [],
        )

    def artifact(self, request: Request) -> Response:
        row = self.row("artifacts", request)
        if isinstance(row, Response):
            return row
        task = self.queries.tasks_by_id({row["task_id"]}).get(row["task_id"])
        from ..run.artifact import PREVIEW_KEY

        metadata = json.loads(row["metadata"] or "{}")
        return self.page(
            request,
            "artifact.html",
            artifact=row,
            task=task,
            preview=previews.preview(row),
            metadata={k: v for k, v in metadata.items() if k != PREVIEW_KEY},
            recorded=metadata.get(PREVIEW_KEY) or {},
            consumers=self.queries.artifact_consumers(
                row["id"], CONSUMERS_PAGE, _int(request.query_params.get("from")) or 0
            ),
            consumers_total=self.queries.count_artifact_consumers(row["id"]),
            consumers_from=_int(request.query_params.get("from")) or 0,
            consumers_page=CONSUMERS_PAGE,
        )

    def models(self, request: Request) -> Response:
        f = catalog.ModelFilter.from_params(request.query_params)
        return self.page(request, "models.html", table=catalog.model_page(self.queries, f), f=f)

    def go(self, request: Request) -> Response:
        """The go-to box: one match opens it, several are listed."""
        text = request.query_params.get("to", "")
        hits = goto.find(self.queries, text)
        if len(hits) == 1:
            return RedirectResponse(hits[0].href, 303)
        return self.page(request, "go.html", q=goto.clean(text), hits=hits, status_code=200 if hits else 404)

    def favicon(self, request: Request) -> Response:
        return RedirectResponse("/static/favicon.svg", 301)

    def thumbnail(self, request: Request) -> Response:
        row = self.row("artifacts", request)
        if isinstance(row, Response):
            return row
        if row["type"] == "pickle":
            raise HTTPException(404, "a pickle has no thumbnail")
        try:
            return Response(previews.thumbnail(row), media_type="image/png")
        except Exception as exc:  # noqa: BLE001 - not an image, or unreadable
            raise HTTPException(404, f"no thumbnail: {exc}") from None

    def graph(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in ("model", "task"):
            raise HTTPException(404, "no such graph")
        row = self.row("models" if kind == "model" else "tasks", request)
        if isinstance(row, Response):
            return row
        try:
            depth = int(request.query_params.get("depth", "3"))
        except ValueError:
            depth = 3
        graph = lineage.lineage(self.queries, depth=depth, **{kind: row})
        return JSONResponse(graph)

    # -- downloads --------------------------------------------------------------------------------------
    def download(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in ("model", "artifact"):
            raise HTTPException(404, "no such download")
        row = self.row("models" if kind == "model" else "artifacts", request)
        if isinstance(row, Response):
            return row
        try:
            path = fetch.model_path(row) if kind == "model" else fetch.artifact_file(row)
        except AutologError as exc:
            return self.page(request, "error.html", status_code=409, title="Not downloadable", message=str(exc))
        name = snapshots.download_name(row) if kind == "model" else row["file_name"]
        if os.path.isdir(path):
            return _zip_response(path, name)
        return FileResponse(path, filename=os.path.basename(name), media_type="application/octet-stream")


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text else None
    except ValueError:
        return None


def _zip_response(folder: str, name: str) -> Response:
    """A folder (multi-file checkpoint) as one zip, built in a temporary file and streamed."""
    handle, archive = tempfile.mkstemp(suffix=".zip")
    os.close(handle)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as out:
        for root, _dirs, files in os.walk(folder):
            for file_name in sorted(files):
                full = os.path.join(root, file_name)
                out.write(full, os.path.relpath(full, folder))
    return FileResponse(
        archive,
        filename=os.path.basename(name.rstrip("/")) + ".zip",
        media_type="application/zip",
        background=BackgroundTask(os.remove, archive),
    )


class Timing:
    """ASGI middleware: `Server-Timing: app;dur=<ms>` (time to the response head) and the safety headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={(time.perf_counter() - start) * 1000:.2f}".encode()))
                headers.extend((k.lower().encode(), v.encode()) for k, v in HEADERS.items())
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)


def create_app(tracking_uri: str, *, allowed_hosts: list[str] | None = None, token: str | None = None) -> Starlette:
    """The site over the store at `tracking_uri`. `allowed_hosts` guards against DNS rebinding; with a `token`
    every request must carry it (`autolog.ui.auth`)."""
    site = Site(tracking_uri)

    def error_page(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):
            code, message = exc.status_code, exc.detail
        else:
            log.error("autolog ui: error on %s", request.url.path, exc_info=exc)
            code, message = 500, "The server hit an error reading the store; see its log."
        return site.page(
            request, "error.html", status_code=code, title="Not found" if code == 404 else "Error", message=message
        )

    routes = [
        Route("/", site.tasks),
        Route("/projects", site.tasks),
        Route("/models", site.models),
        Route("/go", site.go),
        Route("/favicon.ico", site.favicon),
        Route("/tasks/status", site.task_status),
        Route("/task/{id}", site.task),
        Route("/model/{id}", site.model),
        Route("/artifact/{id}", site.artifact),
        Route("/artifact/{id}/thumbnail.png", site.thumbnail),
        Route("/lineage/{kind}/{id}.json", site.graph),
        Route("/download/{kind}/{id}", site.download),
        Mount("/static", StaticFiles(packages=[("autolog.ui", "static")]), name="static"),
    ]
    middleware = [Middleware(Timing)]
    if token:
        middleware.append(Middleware(TokenGate, token=token))
    if allowed_hosts:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers={HTTPException: error_page, Exception: error_page}
    )
    app.state.site = site
    return app
