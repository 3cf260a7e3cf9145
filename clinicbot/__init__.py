"""clinicbot: the WhatsApp appointment desk of a small clinic, on the clinic's own PC."""

__version__ = "0.1.0"
