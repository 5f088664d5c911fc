package store

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/quayside/quayside/internal/model"
)

func TestClaimOf(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	web := model.ContainerDefinition{Name: "web", Cpu: 256, Memory: i32(512), MemoryReservation: i32(128),
		PortMappings: []model.PortMapping{{ContainerPort: i32(80), HostPort: i32(8080)}, {ContainerPort: i32(9000)},
			{ContainerPort: i32(53), HostPort: i32(53), Protocol: model.TransportProtocolUdp}}}
	side := model.ContainerDefinition{Name: "side", Cpu: 128, Memory: i32(64),
		ResourceRequirements: []model.ResourceRequirement{{Type: model.ResourceTypeGpu, Value: "2"}}}
	td := model.TaskDefinition{ContainerDefinitions: []model.ContainerDefinition{web, side}}
	withTaskLevel := td
	withTaskLevel.Cpu, withTaskLevel.Memory = "1024", "2048"
	cases := []struct {
		name string
		td   model.TaskDefinition
		ov   *model.TaskOverride
		mode model.NetworkMode
		want Claim
	}{
		{"containers summed, bridge ports", td, nil, model.NetworkModeBridge,
			Claim{CPU: 384, Memory: 192, GPU: 2, Ports: []string{"8080"}, PortsUDP: []string{"53"}, DynamicPorts: PortCounts{TCP: 1}}},
		{"task level wins", withTaskLevel, nil, model.NetworkModeAwsvpc, Claim{CPU: 1024, Memory: 2048, GPU: 2}},
		{"task override in units", withTaskLevel, &model.TaskOverride{Cpu: "0.5 vCPU", Memory: "1GB"}, model.NetworkModeAwsvpc,
			Claim{CPU: 512, Memory: 1024, GPU: 2}},
		{"container overrides", td, &model.TaskOverride{ContainerOverrides: []model.ContainerOverride{{Name: "side", Cpu: i32(512), MemoryReservation: i32(32)}}},
			model.NetworkModeNone, Claim{CPU: 768, Memory: 160, GPU: 2}},
		{"host mode binds container ports", td, nil, model.NetworkModeHost,
			Claim{CPU: 384, Memory: 192, GPU: 2, Ports: []string{"8080", "9000"}, PortsUDP: []string{"53"}}},
	}
	for _, c := range cases {
		if d := cmp.Diff(c.want, ClaimOf(&c.td, c.ov, c.mode)); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
	}
}
