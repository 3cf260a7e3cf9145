"""The conversation engine: what the bot says and does, as a pure function of its inputs."""
