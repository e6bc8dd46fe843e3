package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// runState is a dev command's state directory and its log file: dir as
// given (made if missing), or a new temporary one; the log is appended to.
// done closes the log and removes a temporary directory unless keep is set.
func runState(cmd, dir, logName string, keep bool) (state string, logf *os.File, done func(), err error) {
	temp := dir == ""
	if temp {
		if dir, err = os.MkdirTemp("", "datasev-"+cmd+"-"); err != nil {
			return "", nil, nil, fmt.Errorf("%s: state directory: %w", cmd, err)
		}
	} else if err = os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, nil, fmt.Errorf("%s: state directory: %w", cmd, err)
	}
	logf, err = os.OpenFile(filepath.Join(dir, logName), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		if temp {
			_ = os.RemoveAll(dir)
		}
		return "", nil, nil, fmt.Errorf("%s: log file: %w", cmd, err)
	}
	return dir, logf, func() {
		_ = logf.Close()
		if temp && !keep {
			_ = os.RemoveAll(dir)
		}
	}, nil
}
