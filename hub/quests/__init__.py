"""The hub's own quests: admins make them, learners enrol and hand in evidence."""
