package metrics

import (
	"context"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
)

// Interceptor counts Temporal's activity retries without touching any activity.
func (r *Recorder) Interceptor() interceptor.WorkerInterceptor {
	return &workerInterceptor{rec: r}
}

type workerInterceptor struct {
	interceptor.WorkerInterceptorBase
	rec *Recorder
}

func (w *workerInterceptor) InterceptActivity(
	_ context.Context,
	next interceptor.ActivityInboundInterceptor,
) interceptor.ActivityInboundInterceptor {
	return &activityInterceptor{
		ActivityInboundInterceptorBase: interceptor.ActivityInboundInterceptorBase{Next: next},
		rec:                            w.rec,
	}
}

type activityInterceptor struct {
	interceptor.ActivityInboundInterceptorBase
	rec *Recorder
}

func (a *activityInterceptor) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	if info := activity.GetInfo(ctx); info.Attempt > 1 {
		a.rec.ActivityRetried(info.ActivityType.Name)
	}
	return a.Next.ExecuteActivity(ctx, in)
}
