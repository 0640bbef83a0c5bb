"""One synthetic person, part by part: who they are, their illness, the episode of care, what they answer,
crises, relapse after discharge, laboratory results and a wearable. ``generator.generate_person`` calls the
parts in a fixed order: every part draws from the person's random streams, so the order is the contract."""
