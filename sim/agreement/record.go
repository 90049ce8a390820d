package agreement

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Recorded holds the kernel's answers for every case of a backend:
// case name → flow name → answers in packet order.
type Recorded map[string]map[string][]Answer

// LoadRecorded reads testdata/recorded/<backend>.json under dir; a missing
// file is an empty record.
func LoadRecorded(dir, backend string) (Recorded, error) {
	d, err := os.ReadFile(filepath.Join(dir, backend+".json"))
	if os.IsNotExist(err) {
		return Recorded{}, nil
	}
	if err != nil {
		return nil, err
	}
	var r Recorded
	if err := json.Unmarshal(d, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", backend, err)
	}
	return r, nil
}

// Save writes the record, sorted, one case a line group.
func (r Recorded) Save(dir, backend string) error {
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	d, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, backend+".json"), append(d, '\n'), 0o644)
}
