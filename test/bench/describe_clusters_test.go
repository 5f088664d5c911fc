package bench

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/quayside/quayside/internal/server/servertest"
)

// BenchmarkSignedDescribeClusters measures signed DescribeClusters calls per
// second through the SDK over loopback HTTP, with 32 concurrent callers
// sharing the machine with the server (target: ≥ 5,000 req/s on 2 cores).
func BenchmarkSignedDescribeClusters(b *testing.B) {
	h := servertest.Start(b)
	ctx := h.Ctx()
	for i := range 10 {
		if _, err := h.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(fmt.Sprint("bench", i))}); err != nil {
			b.Fatal(err)
		}
	}
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 64, 64
	})
	client := ecs.NewFromConfig(h.AWS, func(o *ecs.Options) { o.HTTPClient = hc })
	in := &ecs.DescribeClustersInput{Clusters: []string{"bench3"}}
	b.SetParallelism(16) // × GOMAXPROCS goroutines
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			out, err := client.DescribeClusters(ctx, in)
			if err != nil || len(out.Clusters) != 1 {
				b.Errorf("describe: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
