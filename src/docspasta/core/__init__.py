"""The pure crawler core: text and bytes in, values out.

URL normalisation and scope (``urls``), robots.txt (``robots``), main-content extraction
(``extract``), HTML to markdown (``markdown``), token counts (``tokens``), the one per-page entry
point (``page.analyze_page``) and the final document (``assemble``). Nothing here touches the
network, the database or the queue.
"""
