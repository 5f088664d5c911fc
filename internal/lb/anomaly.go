package lb

import (
	"context"
	"time"

	"github.com/quayside/quayside/internal/store"
)

// Automatic Target Weights, as the ALB user guide describes them: anomaly
// detection compares each target's failed answers (5xx, or no answer at
// all) with the rest of its group's, and anomaly mitigation (weighted
// random groups that turned it on) lowers the share of a target found
// anomalous and gives it back once the target answers like the others.
//
// The hot path only counts (backend.answer); a detector goroutine folds the
// counts into decayed sums once a window, decides, and publishes each
// backend's weight (atomic) and verdict (written to its record).
const (
	fullWeight = 100
	// minWeight is the least share mitigation leaves a target: enough
	// requests still reach it to see it recover.
	minWeight = 10
	// decay is how much of the previous windows' evidence a window keeps.
	decay = 0.8
	// minSamples is how many (decayed) answers a target, and the rest of
	// its group, need before a verdict is drawn.
	minSamples = 4
	// A target is anomalous when its failure rate is at least marginAbove
	// over the rest's and at least ratioAbove times theirs.
	marginAbove = 0.2
	ratioAbove  = 2
)

// anomaly is a target's latest detection result as DescribeTargetHealth
// shows it.
type anomaly struct {
	result     string // store.Anomaly*, "" before any verdict
	mitigating bool   // its weight is below full
}

// detState is what the detector keeps of one backend between windows.
type detState struct {
	seenAns, seenFail int64
	ans, fail         float64 // decayed sums
}

// answer counts one exchange with the target: status is the answer's code,
// 0 when none came (connection refused or broken, timeout).
func (b *backend) answer(status int) {
	b.answered.Add(1)
	if status == 0 || status >= 500 {
		b.failed.Add(1)
	}
}

// share is the backend's weight for weighted random routing.
func (b *backend) share() int {
	if w := b.weight.Load(); w > 0 {
		return int(w)
	}
	return fullWeight
}

func (b *backend) setShare(w int) {
	if w >= fullWeight {
		w = 0
	}
	b.weight.Store(int32(w))
}

func (b *backend) anomalyNow() anomaly {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.anomaly
}

// runDetector assesses the groups of the current routing table once a
// window until ctx ends.
func (l *LB) runDetector(ctx context.Context) {
	t := time.NewTicker(l.anomalyWindow)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, g := range l.snap.Load().groups {
			if g.detect {
				l.assess(g)
			}
		}
	}
}

// assess folds the window's answers of g's routable targets in, then
// judges each against the rest of the group.
func (l *LB) assess(g *groupSnap) {
	var totAns, totFail float64
	for _, b := range g.routable {
		b.det.fold(b)
		totAns += b.det.ans
		totFail += b.det.fail
	}
	for _, b := range g.routable {
		cur := b.anomalyNow()
		result := judge(b.det.ans, b.det.fail, totAns-b.det.ans, totFail-b.det.fail, len(g.routable))
		if result == "" {
			result = cur.result // not enough evidence: the verdict stands
		}
		w := fullWeight
		if g.mitigate {
			w = b.share()
			if result == store.AnomalyAnomalous {
				w = max(w/2, minWeight)
			} else {
				w = min(w*2, fullWeight)
			}
		}
		b.setShare(w)
		next := anomaly{result: result, mitigating: w < fullWeight}
		if next != cur {
			b.mu.Lock()
			b.anomaly = next
			b.mu.Unlock()
			l.writer.enqueue(b)
		}
	}
}

func (d *detState) fold(b *backend) {
	ans, fail := b.answered.Load(), b.failed.Load()
	d.ans = d.ans*decay + float64(ans-d.seenAns)
	d.fail = d.fail*decay + float64(fail-d.seenFail)
	d.seenAns, d.seenFail = ans, fail
}

// judge compares a target's failure rate with the rest of its group's; it
// returns "" when either has too few answers to tell, or the target has
// nobody to be compared with.
func judge(ans, fail, restAns, restFail float64, n int) string {
	if n < 2 || ans < minSamples || restAns < minSamples {
		return ""
	}
	rate, rest := fail/ans, restFail/restAns
	if rate >= rest+marginAbove && rate >= ratioAbove*rest {
		return store.AnomalyAnomalous
	}
	return store.AnomalyNormal
}
