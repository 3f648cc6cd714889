package safetycases

import (
	dto "github.com/prometheus/client_model/go"
)

// GaugeValue reads haven_ae_cases_open (clock "") or haven_ae_cases_overdue{clock}.
func GaugeValue(clock string) float64 {
	g := metricOpen
	if clock != "" {
		g = metricOverdue.WithLabelValues(clock)
	}
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		panic(err)
	}
	return m.GetGauge().GetValue()
}
