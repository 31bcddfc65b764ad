"""Draw the sequence of statuses one dossier goes through, following the one-stop lifecycle (NĐ 61/2018, NĐ 118/2025).

The path is drawn separately from timestamps and payloads so that the shape of the traffic (how often
dossiers are refused, stopped, late, supplemented twice) is visible in one place, as named probabilities, and
can be tested without building events. Happy path::

    SUBMITTED? → RECEIVED → TRANSFERRED → IN_PROCESS? → TRANSFERRED (liên thông)? →
    (SUPPLEMENT_REQUESTED → SUPPLEMENT_RECEIVED)? → (PAYMENT_REQUESTED → PAID)? →
    (OVERDUE? → DUE_DATE_EXTENDED)? → RESULT_READY → RESULT_RETURNED? → SURVEY_INVITED?

Alternative endings: REJECTED_AT_INTAKE (intake check fails), STOPPED (refused after appraisal, supplement
never provided, obligation unpaid) and WITHDRAWAL_REQUESTED → STOPPED. With ``allow_repeats`` a dossier may
rarely get a second supplement request or a second extension: the law allows one of each, so the streams
must flag these and the traffic has to contain them.
"""

from __future__ import annotations

import random

from schemas.dossier_event import Status

P_INTAKE_REJECT_ONLINE = 0.06
"""Online dossiers are refused at intake more often: nobody checked them at a counter first."""
P_INTAKE_REJECT_COUNTER = 0.01
"""At the counter most unreceivable dossiers are turned away before anything is recorded."""
P_TRANSFER = 0.97
P_IN_PROCESS = 0.8
P_EXTRA_TRANSFER = 0.12
"""Interlinked procedures (tax, police) pass the dossier to a second agency."""
P_IN_PROCESS_AFTER_EXTRA_TRANSFER = 0.5
P_WITHDRAW_EARLY = 0.015
P_SUPPLEMENT = 0.14
P_SUPPLEMENT_ABANDONED = 0.12
"""Share of supplement requests the citizen never answers; they end stopped or withdrawn."""
P_WITHDRAW_WHEN_ABANDONED = 0.4
P_SECOND_SUPPLEMENT = 0.08
P_PAYMENT = 0.7
"""Fee-bearing procedures whose obligation is only known after appraisal (the rest is paid at intake)."""
P_UNPAID = 0.04
P_STOP_AFTER_APPRAISAL = 0.03
P_LATE = 0.08
"""Dossiers that will miss their appointment and get an apology with a new date."""
P_OVERDUE_EVENT = 0.6
"""Share of late dossiers whose system records the internal OVERDUE state before the apology."""
P_SECOND_EXTENSION = 0.1
P_RESULT_RETURNED = 0.96
P_SURVEY_INVITED = 0.6


def draw_path(
    rng: random.Random, *, online: bool, fee: bool, has_due_date: bool, allow_repeats: bool = True
) -> list[Status]:
    """The statuses of one dossier in order; the first is SUBMITTED (online) or RECEIVED / REJECTED_AT_INTAKE.

    ``fee``: the procedure may raise a financial obligation. ``has_due_date``: the procedure has an
    appointment date, without which nothing can be late. ``allow_repeats``: permit the rare second supplement
    request and second extension.
    """
    path: list[Status] = []
    if online:
        path.append(Status.SUBMITTED)
        if rng.random() < P_INTAKE_REJECT_ONLINE:
            path.append(Status.REJECTED_AT_INTAKE)
            return path
    elif rng.random() < P_INTAKE_REJECT_COUNTER:
        path.append(Status.REJECTED_AT_INTAKE)
        return path
    path.append(Status.RECEIVED)
    if rng.random() < P_WITHDRAW_EARLY:
        path += [Status.WITHDRAWAL_REQUESTED, Status.STOPPED]
        return path
    if rng.random() < P_TRANSFER:
        path.append(Status.TRANSFERRED)
    if rng.random() < P_IN_PROCESS:
        path.append(Status.IN_PROCESS)
    if rng.random() < P_EXTRA_TRANSFER:
        path.append(Status.TRANSFERRED)
        if rng.random() < P_IN_PROCESS_AFTER_EXTRA_TRANSFER:
            path.append(Status.IN_PROCESS)

    if rng.random() < P_SUPPLEMENT:
        rounds = 2 if allow_repeats and rng.random() < P_SECOND_SUPPLEMENT else 1
        for _ in range(rounds):
            path.append(Status.SUPPLEMENT_REQUESTED)
            if rng.random() < P_SUPPLEMENT_ABANDONED:
                if rng.random() < P_WITHDRAW_WHEN_ABANDONED:
                    path.append(Status.WITHDRAWAL_REQUESTED)
                path.append(Status.STOPPED)
                return path
            path.append(Status.SUPPLEMENT_RECEIVED)

    if rng.random() < P_STOP_AFTER_APPRAISAL:
        path.append(Status.STOPPED)
        return path

    if fee and rng.random() < P_PAYMENT:
        path.append(Status.PAYMENT_REQUESTED)
        if rng.random() < P_UNPAID:
            path.append(Status.STOPPED)
            return path
        path.append(Status.PAID)

    if has_due_date and rng.random() < P_LATE:
        rounds = 2 if allow_repeats and rng.random() < P_SECOND_EXTENSION else 1
        for _ in range(rounds):
            if rng.random() < P_OVERDUE_EVENT:
                path.append(Status.OVERDUE)
            path.append(Status.DUE_DATE_EXTENDED)

    path.append(Status.RESULT_READY)
    if rng.random() < P_RESULT_RETURNED:
        path.append(Status.RESULT_RETURNED)
        if rng.random() < P_SURVEY_INVITED:
            path.append(Status.SURVEY_INVITED)
    return path
