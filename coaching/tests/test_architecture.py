"""The layers' import rules (README, "Architecture"), read from the source: arrows point down only.

- The domain (models, schedule, services, integrations and the small modules beside them) never
  imports the web layer, the back office, the task module, the Wagtail hooks, pages or tools.
- The web layer and the back office never import each other; no web view module is imported by
  another view module (shared pieces live in web/parsing, web/responses, web/context, ...).
- Only the services talk to an outside service (coaching/integrations/).
"""

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parent.parent
ROOT = APP.parent
ENTRY_POINTS = (
    "coaching.web",
    "coaching.backoffice",
    "coaching.tasks",
    "coaching.wagtail_hooks",
    "coaching.management",
)
OUTSIDE_THE_APP = ("pages", "tools", "snippets", "config")
WEB_VIEWS = ("booking", "manage", "payments", "webhook", "files", "waitlist", "packages", "recurring")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, at any depth (lazy imports inside functions count too)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def source_modules():
    for path in sorted(APP.rglob("*.py")):
        relative = path.relative_to(APP).parts
        if relative[0] in ("tests", "migrations"):
            continue
        yield path


def in_package(module: str, packages) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def test_the_rules_see_real_imports():
    # A parser that found nothing would make every rule below pass: prove it reads imports.
    assert "coaching.schedule" in imports_of(APP / "web" / "booking.py")
    assert "coaching.web.parsing" in imports_of(APP / "web" / "booking.py")
    assert "coaching.services.holds" in imports_of(APP / "services" / "booking.py")


@pytest.mark.parametrize(
    "path", [p for p in source_modules() if not in_package(module_name(p), ENTRY_POINTS)], ids=module_name
)
def test_no_domain_module_imports_the_web_layer_or_the_back_office(path):
    offending = {
        target for target in imports_of(path) if in_package(target, ENTRY_POINTS) or in_package(target, OUTSIDE_THE_APP)
    }
    assert not offending, f"{module_name(path)} imports {sorted(offending)}"


@pytest.mark.parametrize(
    "path", sorted((APP / "web").glob("*.py")) + sorted((APP / "backoffice").glob("*.py")), ids=module_name
)
def test_web_and_back_office_stay_apart_and_views_do_not_import_views(path):
    name = module_name(path)
    other = "coaching.backoffice" if name.startswith("coaching.web") else "coaching.web"
    targets = imports_of(path)
    assert not {t for t in targets if in_package(t, [other])}, f"{name} imports the other entry layer"
    if name.startswith("coaching.web") and not name.endswith(".urls"):
        views = {f"coaching.web.{view}" for view in WEB_VIEWS} - {name}
        assert not targets & views, f"{name} imports a view module as a library"


@pytest.mark.parametrize(
    "path",
    [p for p in source_modules() if not in_package(module_name(p), ["coaching.services", "coaching.integrations"])],
    ids=module_name,
)
def test_only_the_services_call_outside_services(path):
    assert not {t for t in imports_of(path) if in_package(t, ["coaching.integrations"])}, module_name(path)
