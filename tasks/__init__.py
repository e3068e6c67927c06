"""Task wiring: one small file per task (body, hand, face, head pose)."""
