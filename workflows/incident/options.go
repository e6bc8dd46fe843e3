package incident

import (
	"time"

	"github.com/datasev/datasev/workflows"
)

// positiveOr is v when it is set (positive), else def: the Options'
// defaults.
func positiveOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func documentInterval(o workflows.Options) time.Duration {
	return positiveOr(o.DocumentInterval, time.Minute)
}

func closureTimeout(o workflows.Options) time.Duration {
	return positiveOr(o.ClosureTimeout, 72*time.Hour)
}

func closureReminder(o workflows.Options) time.Duration {
	return positiveOr(o.ClosureReminder, 24*time.Hour)
}

func closeAfter(o workflows.Options) time.Duration { return positiveOr(o.CloseAfter, 30*time.Minute) }

func approvalTimeout(o workflows.Options) time.Duration {
	return positiveOr(o.ApprovalTimeout, 30*time.Minute)
}

func historyThreshold(o workflows.Options) int { return positiveOr(o.HistoryThreshold, 10_000) }
