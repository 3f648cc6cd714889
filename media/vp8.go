package media

// vp8KeyframeStart reports whether an RTP payload (VP8 payload descriptor, RFC 7741, then
// the VP8 payload) is the first packet of a keyframe: start of partition 0 (S=1, PID=0)
// whose payload header has the inverse key frame flag P clear. A subscriber can start or
// switch layers only here; anything earlier would be undecodable.
func vp8KeyframeStart(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	if p[0]&0x10 == 0 || p[0]&0x07 != 0 { // S bit, partition index
		return false
	}
	i := 1
	if p[0]&0x80 != 0 { // X: an extension octet follows
		if len(p) < 2 {
			return false
		}
		ext := p[1]
		i = 2
		if ext&0x80 != 0 { // I: PictureID, 7 or 15 bits
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX share one octet
			i++
		}
	}
	if len(p) <= i {
		return false
	}
	return p[i]&0x01 == 0
}
