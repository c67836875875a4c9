package cache

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// GrowthDay is one day of an official account's follower figures, as
// WeChat's datacube reported them: the follows and unfollows summed over
// every channel (getusersummary) and the followers at the end of the day
// (getusercumulate).
type GrowthDay struct {
	Date        string // yyyy-MM-dd, China time
	New         int64
	Cancel      int64
	Cumulate    int64
	HasSummary  bool      // getusersummary had rows for the day (New and Cancel are known)
	HasCumulate bool      // getusercumulate had the day (Cumulate is known)
	FetchedAt   time.Time // when the figures were asked for
}

// Net is the day's follows less its unfollows.
func (d GrowthDay) Net() int64 { return d.New - d.Cancel }

// Known reports whether the API gave any figure for the day: it has none
// for a day before the account's history, nor for yesterday before 08:00
// China time.
func (d GrowthDay) Known() bool { return d.HasSummary || d.HasCumulate }

// growthDateLayout is how the growth bucket keys a day; the keys sort as
// the days do.
const growthDateLayout = "2006-01-02"

// validDate rejects anything but a yyyy-MM-dd date in its one spelling.
func validDate(s string) error {
	t, err := time.Parse(growthDateLayout, s)
	if err != nil || t.Format(growthDateLayout) != s {
		return fmt.Errorf("%.40q is not a yyyy-MM-dd date", s)
	}
	return nil
}

// PutGrowth stores days of appid, replacing what the cache had for them, in
// one transaction. A day the API had nothing for is worth storing too
// (Known false): it says the day was asked.
func (s *Store) PutGrowth(appid string, days []GrowthDay) error {
	if err := validID("appid", appid); err != nil {
		return err
	}
	for _, d := range days {
		if err := validDate(d.Date); err != nil {
			return fmt.Errorf("store the growth of app %s: %w", appid, err)
		}
	}
	err := s.update(func(tx *bolt.Tx) error {
		top, err := tx.CreateBucketIfNotExists(bucketGrowth)
		if err != nil {
			return err
		}
		b, err := top.CreateBucketIfNotExists([]byte(appid))
		if err != nil {
			return err
		}
		for i := range days {
			if err := b.Put([]byte(days[i].Date), encodeGrowthDay(nil, &days[i])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store the growth of app %s: %w", appid, err)
	}
	return nil
}

// Growth returns the stored days of appid from first to last (yyyy-MM-dd,
// both included) in date order; days never asked are absent.
func (s *Store) Growth(appid, first, last string) ([]GrowthDay, error) {
	for _, d := range []string{first, last} {
		if err := validDate(d); err != nil {
			return nil, fmt.Errorf("read the growth of app %s: %w", appid, err)
		}
	}
	var out []GrowthDay
	err := s.view(func(tx *bolt.Tx) error {
		top := tx.Bucket(bucketGrowth)
		if top == nil {
			return nil
		}
		b := top.Bucket([]byte(appid))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek([]byte(first)); k != nil && string(k) <= last; k, v = c.Next() {
			d := GrowthDay{Date: string(k)}
			if err := decodeGrowthDay(v, &d); err != nil {
				return fmt.Errorf("day %s: %w", k, err)
			}
			out = append(out, d)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the growth of app %s: %w", appid, err)
	}
	return out, nil
}
