// SPDX-License-Identifier: GPL-2.0-only
/* Excerpt of drivers/vhost/vringh.c, Debian linux-source-6.1 6.1.172-1, lines 1155-1221. */
static inline int copy_from_iotlb(const struct vringh *vrh, void *dst,
				  void *src, size_t len)
{
	u64 total_translated = 0;

	while (total_translated < len) {
		struct bio_vec iov[16];
		struct iov_iter iter;
		u64 translated;
		int ret;
		size_t size;

		ret = iotlb_translate(vrh, (u64)(uintptr_t)src,
				      len - total_translated, &translated,
				      iov, ARRAY_SIZE(iov), VHOST_MAP_RO);
		if (ret == -ENOBUFS)
			ret = ARRAY_SIZE(iov);
		else if (ret < 0)
			return ret;

		iov_iter_bvec(&iter, ITER_SOURCE, iov, ret, translated);

		size = copy_from_iter(dst, translated, &iter);
		if (size != translated)
			return -EFAULT;

		src += translated;
		dst += translated;
		total_translated += translated;
	}

	return total_translated;
}

static inline int copy_to_iotlb(const struct vringh *vrh, void *dst,
				void *src, size_t len)
{
	u64 total_translated = 0;

	while (total_translated < len) {
		struct bio_vec iov[16];
		struct iov_iter iter;
		u64 translated;
		int ret;
		size_t size;

		ret = iotlb_translate(vrh, (u64)(uintptr_t)dst,
				      len - total_translated, &translated,
				      iov, ARRAY_SIZE(iov), VHOST_MAP_WO);
		if (ret == -ENOBUFS)
			ret = ARRAY_SIZE(iov);
		else if (ret < 0)
			return ret;

		iov_iter_bvec(&iter, ITER_DEST, iov, ret, translated);

		size = copy_to_iter(src, translated, &iter);
		if (size != translated)
			return -EFAULT;

		src += translated;
		dst += translated;
		total_translated += translated;
	}

	return total_translated;
}
