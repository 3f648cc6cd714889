package postgres

import (
	"context"
	"errors"

	"github.com/havenhealth/haven/store"
)

// OpenAECase is not implemented yet.
func (s *Store) OpenAECase(ctx context.Context, c store.NewAECase) (string, error) {
	return "", errors.New("open AE case: not implemented")
}

// RecordCrisisAlert is not implemented yet.
func (s *Store) RecordCrisisAlert(ctx context.Context, a store.NewCrisisAlert) (string, error) {
	return "", errors.New("record crisis alert: not implemented")
}
