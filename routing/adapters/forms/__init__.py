"""Form builders' webhooks (Typeform, Jotform, any builder posting JSON or form fields) read into the intake.

Each builder has a pure reader of its own payload (:mod:`.typeform`, :mod:`.jotform`, :mod:`.generic`) giving a
:class:`~.mapping.Submission`: the builder's submission id and the patient's answers by the builder's field
names. One data file per form (:mod:`.mapping`) says which of the intake's fields each answer fills; applying
it gives the same request body ``POST /v1/inquiries`` takes, for the same intake service.
"""
