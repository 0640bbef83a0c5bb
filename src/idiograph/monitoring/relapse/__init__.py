"""Relapse after discharge: a rise from the recovered baseline on follow-up scores."""
