"""FireWorks pipeline: FireTasks, the workflow factory, LaunchPads and the local runner."""
