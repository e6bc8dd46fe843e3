package sftest

import (
	"fmt"
	"regexp"
	"strings"
)

// Task statements the server answers itself, when the task is known
// (AddTask): EXECUTE TASK <name> and ALTER TASK [IF EXISTS] <name>
// RESUME|SUSPEND. Names are up to database.schema.task, parts unquoted
// (compared in upper case) or double-quoted (exact, "" for a quote).
var (
	executeTask = regexp.MustCompile(`(?is)^\s*EXECUTE\s+TASK\s+(.+?)\s*;?\s*$`)
	alterTask   = regexp.MustCompile(`(?is)^\s*ALTER\s+TASK\s+(IF\s+EXISTS\s+)?(.+?)\s+(RESUME|SUSPEND)\s*;?\s*$`)
	plainIdent  = regexp.MustCompile(`^[A-Z_][A-Z0-9_$]*$`)
)

// TaskCall is one task statement the server carried out.
type TaskCall struct {
	// Verb is EXECUTE, RESUME or SUSPEND.
	Verb string
	// Task is the task's resolved name, DATABASE.SCHEMA.TASK.
	Task string
	// SQL is the statement as sent.
	SQL string
}

type taskState struct {
	state string // "started" or "suspended"
}

// AddTask makes a task known, by its resolved name DATABASE.SCHEMA.TASK,
// in state "started" or "suspended".
func (s *Server) AddTask(fqn, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tasks == nil {
		s.tasks = map[string]*taskState{}
	}
	s.tasks[fqn] = &taskState{state: state}
}

// TaskState returns a known task's state.
func (s *Server) TaskState(fqn string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[fqn]
	if !ok {
		return "", false
	}
	return t.state, true
}

// TaskCalls lists the task statements carried out, in order.
func (s *Server) TaskCalls() []TaskCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]TaskCall(nil), s.taskCalls...)
}

// taskStatement answers a task statement; ok is false for any other.
func (s *Server) taskStatement(q Query) (Result, bool) {
	var verb, raw string
	ifExists := false
	if m := executeTask.FindStringSubmatch(q.SQL); m != nil {
		verb, raw = "EXECUTE", m[1]
	} else if m := alterTask.FindStringSubmatch(q.SQL); m != nil {
		verb, raw, ifExists = strings.ToUpper(m[3]), m[2], m[1] != ""
	} else {
		return Result{}, false
	}
	fqn, err := resolveName(raw, q.Session)
	if err != nil {
		return SyntaxError(raw), true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tasks[fqn]
	if !ok {
		if ifExists {
			return statusResult(), true
		}
		return Fail("002003", "02000", fmt.Sprintf("Task '%s' does not exist or not authorized.", fqn)), true
	}
	s.taskCalls = append(s.taskCalls, TaskCall{Verb: verb, Task: fqn, SQL: q.SQL})
	switch verb {
	case "EXECUTE":
		return Rows([]Column{{Name: "status", Type: "text", Length: 16777216}},
			[]any{fmt.Sprintf("Task %s is scheduled to run immediately.", fqn[strings.LastIndexByte(fqn, '.')+1:])}), true
	case "RESUME":
		t.state = "started"
	case "SUSPEND":
		t.state = "suspended"
	}
	return statusResult(), true
}

// resolveName resolves a task name in the session: up to three parts,
// unquoted ones in upper case, missing database and schema from the
// session's.
func resolveName(raw string, sess Session) (string, error) {
	var parts []string
	for i := 0; i < len(raw); {
		var part string
		if raw[i] == '"' {
			var b strings.Builder
			j := i + 1
			for ; j < len(raw); j++ {
				if raw[j] == '"' {
					if j+1 < len(raw) && raw[j+1] == '"' {
						b.WriteByte('"')
						j++
						continue
					}
					break
				}
				b.WriteByte(raw[j])
			}
			if j >= len(raw) {
				return "", fmt.Errorf("unterminated quoted identifier")
			}
			part, i = b.String(), j+1
		} else {
			j := strings.IndexByte(raw[i:], '.')
			if j < 0 {
				j = len(raw) - i
			}
			part = strings.ToUpper(raw[i : i+j])
			if !plainIdent.MatchString(part) {
				return "", fmt.Errorf("bad identifier %q", part)
			}
			i += j
		}
		parts = append(parts, part)
		if i < len(raw) {
			if raw[i] != '.' {
				return "", fmt.Errorf("want dots between parts")
			}
			i++
		}
	}
	switch len(parts) {
	case 1:
		parts = append([]string{sess.Database, sess.Schema}, parts...)
	case 2:
		parts = append([]string{sess.Database}, parts...)
	case 3:
	default:
		return "", fmt.Errorf("at most database.schema.task")
	}
	return strings.Join(parts, "."), nil
}
