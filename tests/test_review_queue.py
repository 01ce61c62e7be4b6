"""The review queue's order (send-backs first, then the smallest margin) holds across the
reasons it reads one by one, with and without a department or head filter."""

import random

from seeding import NOW, session_at, ticket
from sqlalchemy import case, select

from triage.service import review
from triage.storage.schema import Ticket

REASONS = ("returned_twice", "returned", "uncertain", "quality_check", "imported", None)
PRIORITY = {"returned_twice": 0, "returned": 1, "uncertain": 2, "quality_check": 3}


def test_the_queue_is_ordered_by_priority_then_margin(database_url):
    rng = random.Random(3)
    with session_at(database_url) as session:
        for _ in range(150):
            reason = rng.choice(REASONS)
            session.add(
                ticket(
                    department=rng.choice(("service_center", "tax_bureau")),
                    review_reason=reason,
                    margin=round(rng.random(), 2),  # ties, broken by id
                    uncertain_heads=rng.choice(("", "category", "department")),
                    reviewed_at=NOW if rng.random() < 0.2 else None,
                )
            )
        session.commit()
        for limit, department, head in (
            (200, None, None),
            (7, None, None),
            (40, "tax_bureau", None),
            (60, None, "category"),
        ):
            expected = select(Ticket.id).where(
                Ticket.review_reason.is_not(None), Ticket.reviewed_at.is_(None)
            )
            if department:
                expected = expected.where(Ticket.department == department)
            if head:
                expected = expected.where(
                    Ticket.uncertain_heads.contains(head)
                    | Ticket.review_reason.in_(("returned", "returned_twice", "quality_check"))
                )
            order = case(PRIORITY, value=Ticket.review_reason, else_=9)
            want = list(session.scalars(expected.order_by(order, Ticket.margin, Ticket.id).limit(limit)))
            got = [t.id for t in review.queue(session, limit=limit, department=department, head=head)]
            assert got == want and got, (limit, department, head)
