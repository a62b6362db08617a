"""How a queue trigger's event travels to a runtime, shared by the gateway and runtimes.

The event is the CloudEvent itself (its attributes and `data`), plus one reserved key,
MESSAGE, for what of the message is not a CloudEvents attribute: headers whose values
may be bytes, a Kafka key that is not text, a Kafka offset past the 32-bit Integer.
Its name cannot clash with an attribute: those are lowercase letters and digits only.
Kept free of imports, because the worker process imports it at boot.
"""

MESSAGE = "_message"
# In MESSAGE of a Kafka batch: its `data` is a list of events that carry MESSAGE too.
BATCH = "batch"
