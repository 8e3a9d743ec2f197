// A fixture for scripts/check-layering.sh: a ui file outside ui/state and ui/widgets.
