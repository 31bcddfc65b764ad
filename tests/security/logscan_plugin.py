"""A pytest plugin that scans what every passing test logged (pytest's captured log, stdout, stderr).

Enable it for a whole run with ``-p tests.security.logscan_plugin`` (or in ``addopts``); at the end of the
session any phone number, citizen id or token found is listed and the run fails. Failed tests are skipped:
their assertion output may legitimately show the test data that made them fail.
"""

from __future__ import annotations

import pytest

from hosoctl.logscan import Finding, scan_text

_FINDINGS = pytest.StashKey[list[Finding]]()


def pytest_configure(config: pytest.Config) -> None:
    """Start with no findings."""
    config.stash[_FINDINGS] = []


@pytest.hookimpl(trylast=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Scan the captured sections of every passing test phase."""
    if not report.passed:
        return
    config = getattr(report, "config", None)
    text = "\n".join(content for _name, content in report.sections)
    if text and config is not None:
        config.stash[_FINDINGS].extend(scan_text(text, path=report.nodeid))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when anything was found."""
    findings = session.config.stash.get(_FINDINGS, [])
    if findings:
        session.config.stash[_FINDINGS] = findings
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """List the findings (masked)."""
    findings = config.stash.get(_FINDINGS, [])
    if findings:
        terminalreporter.section("personal data in captured test output", red=True)
        for f in findings[:50]:
            terminalreporter.line(str(f))
