"""The dashboard's catalog upload: a multipart form whose file is stored and imported by a job
(domain.catalog_import_runs), and a page that follows its progress and shows its report."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette_admin.routing import route
from starlette_admin.views import CustomView

from dashboard.console import Console, staff_of
from domain import catalog_import_runs

PATH = "/catalog-import"


class CatalogImportView(CustomView):
    menu_label = "Import catalog"
    icon = "fa fa-file-import"
    path = PATH
    route_name = "catalog-import"

    def __init__(self, console: Console, max_bytes: int) -> None:
        super().__init__()
        self.console = console
        self.max_bytes = max_bytes

    @route("")
    async def index(self, request: Request) -> Response:
        staff_of(request)
        run = None
        wanted = request.query_params.get("run", "")
        if wanted.isascii() and wanted.isdigit() and len(wanted) < 19:
            run = await catalog_import_runs.import_run(self.console.engine, int(wanted))
        runs = await catalog_import_runs.recent_import_runs(self.console.engine)
        base = str(request.url_for("admin:catalog-import"))
        assert self._admin is not None
        return self._admin._template_response(
            request=request,
            name="catalog_import.html",
            context={
                "title": "Import catalog",
                "run": run,
                "runs": runs,
                "refresh": run is not None and run.status in ("queued", "running"),
                "upload_url": base.rstrip("/") + "/upload",
                "page_url": base,
                "max_mb": self.max_bytes // 1_000_000,
            },
        )

    @route("/upload", methods=["POST"], name="catalog-import-upload")
    async def upload(self, request: Request) -> Response:
        staff = staff_of(request)
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            return Response("Choose a CSV file to upload.", status_code=400)
        content = await upload.read(self.max_bytes + 1)
        if len(content) > self.max_bytes:
            return Response(f"The file is larger than {self.max_bytes} bytes.", status_code=413)
        run_id = await catalog_import_runs.start_import_run(
            self.console.engine,
            content=content,
            filename=(upload.filename or "upload.csv")[:200],
            dry_run=form.get("dry_run") == "on",
            partial=form.get("partial") == "on",
            actor_user_id=staff.id,
        )
        target = str(request.url_for("admin:catalog-import")) + f"?run={run_id}"
        return RedirectResponse(target, status_code=303)
