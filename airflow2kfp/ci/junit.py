"""JUnit XML for CI dashboards: one test case per DAG (and per file that yielded no DAG but failed).

A failed DAG is a <failure> listing its errors; a converted DAG with warnings passes, its
warnings in <system-out>. Built with xml.etree: the format is small and needs no library.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from airflow2kfp.diagnostics import Diagnostic, Severity
from airflow2kfp.results import FileResult, Status


def _lines(diagnostics: Iterable[Diagnostic]) -> str:
    return "\n".join(f"{d.location()}: {d.code} [{d.severity.value}] {d.message}" for d in diagnostics)


def _case(
    suite: ET.Element, classname: str, name: str, failed: bool, diagnostics: tuple[Diagnostic, ...]
) -> ET.Element:
    case = ET.SubElement(suite, "testcase", classname=classname, name=name, time="0")
    if failed:
        errors = [d for d in diagnostics if d.severity is Severity.ERROR] or list(diagnostics)
        failure = ET.SubElement(
            case,
            "failure",
            type=errors[0].code if errors else "failed",
            message=errors[0].message if errors else "conversion failed",
        )
        failure.text = _lines(errors)
    others = [d for d in diagnostics if d.severity is not Severity.ERROR]
    if others:
        ET.SubElement(case, "system-out").text = _lines(others)
    return case


def junit_xml(files: Iterable[FileResult]) -> str:
    root = ET.Element("testsuites", name="airflow2kfp")
    suite = ET.SubElement(root, "testsuite", name="airflow2kfp convert")
    cases = failures = 0
    for f in files:
        if f.status is Status.SKIPPED:
            continue
        if not f.dags:  # a broken file: it may hold DAGs we could not see
            _case(suite, f.path, f.path, True, f.diagnostics)
            cases, failures = cases + 1, failures + 1
            continue
        for dag in f.dags:
            failed = dag.status is Status.FAILED
            _case(suite, f.path, dag.dag_id, failed, f.diagnostics + dag.diagnostics)
            cases, failures = cases + 1, failures + failed
    for element in (root, suite):
        element.set("tests", str(cases))
        element.set("failures", str(failures))
        element.set("errors", "0")
    suite.set("skipped", "0")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
