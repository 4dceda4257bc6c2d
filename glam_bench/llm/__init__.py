"""Language models as policies: loading (``loading``), tiny offline models (``tiny``, ``corpus``),
candidate scoring (``scoring``, with ``batching`` helpers, checked against ``naive_scoring``)
and heads (``heads``).

Nothing is imported here, so ``import glam_bench.llm`` stays cheap; import the modules.
"""
