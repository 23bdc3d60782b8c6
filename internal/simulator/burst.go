package simulator

import (
	"fmt"
	"time"
)

// Burst adds n records to a stream at once, all occurring now, as when an attack trips many
// rules together. Alert rules on record rates are tested with it.
func (s *Simulator) Burst(source, kind string, n int) error {
	st := s.store(source, kind)
	if st == nil {
		return fmt.Errorf("no stream with source=%s and kind=%s", source, kind)
	}
	if n <= 0 {
		return fmt.Errorf("burst size %d is not positive", n)
	}
	st.arrive(n, time.Now(), 0, 0)
	return nil
}
