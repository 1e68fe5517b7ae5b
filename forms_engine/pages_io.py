"""The import page of a form: upload, mapping table, dry-run results and a progress bar (docs/import-export.md).

The page is a thin client of the import API (``api_io.py``): everything it shows comes from the job JSON.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from engine.errors import Forbidden
from engine.permissions import Principal
from engine.web.auth import platform_of
from engine.web.templating import PageRoute, add_messages, locale_of, page_user, render, text_of

from .io.mapping import importable

add_messages({
    "io_import": {"zh-CN": "导入", "en": "Import"},
    "io_choose": {"zh-CN": "选择 Excel (.xlsx) 或 CSV 文件", "en": "Choose an Excel (.xlsx) or CSV file"},
    "io_upload": {"zh-CN": "上传", "en": "Upload"},
    "io_column": {"zh-CN": "列", "en": "Column"},
    "io_header": {"zh-CN": "表头", "en": "Header"},
    "io_sample": {"zh-CN": "示例", "en": "Sample"},
    "io_field": {"zh-CN": "导入到字段", "en": "Field"},
    "io_ignore": {"zh-CN": "— 不导入 —", "en": "— ignore —"},
    "io_mode": {"zh-CN": "导入方式", "en": "Mode"},
    "io_all": {"zh-CN": "全部正确才导入", "en": "All or nothing"},
    "io_valid": {"zh-CN": "只导入正确的行", "en": "Only the valid rows"},
    "io_duplicates": {"zh-CN": "重复记录", "en": "Duplicates"},
    "io_dup_error": {"zh-CN": "视为错误", "en": "Report as problems"},
    "io_dup_skip": {"zh-CN": "跳过", "en": "Skip"},
    "io_dup_update": {"zh-CN": "更新已有记录", "en": "Update existing records"},
    "io_dry_run": {"zh-CN": "检查（不写入）", "en": "Check (dry run)"},
    "io_commit": {"zh-CN": "开始导入", "en": "Import"},
    "io_row": {"zh-CN": "行", "en": "Row"},
    "io_message": {"zh-CN": "问题", "en": "Problem"},
    "io_rejected": {"zh-CN": "下载有问题的行", "en": "Download the rejected rows"},
    "io_export": {"zh-CN": "导出", "en": "Export"},
})


def build_router() -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)

    @router.get("/apps/{app}/forms/{form}/import")
    def import_page(app: str, form: str, request: Request, who: Principal = Depends(page_user)) -> Response:
        platform = platform_of(request)
        live = platform.app(app)
        records = platform.services["records"]
        spec = records.form(live, form)
        lang = locale_of(request)
        if not records.grant(spec, who).create:
            raise Forbidden(f"you may not import {text_of(spec.label, lang)} records")
        fields = [{"key": f.key, "label": text_of(f.label, lang)} for f in spec.data_fields if importable(f)]
        base = f"/api/apps/{live.key}/forms/{spec.key}"
        return render(request, "forms/io_import.html", title=text_of(spec.label, lang), app=live, form=spec,
                      fields=fields, api_base=base,
                      list_url=f"/apps/{live.key}/forms/{spec.key}")

    return router
